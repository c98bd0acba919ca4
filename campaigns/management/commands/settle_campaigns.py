"""``manage.py settle_campaigns [--as-of DATE]``: pay ended threshold and retroactive campaigns."""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from campaigns.services import campaigns_settle


def parse_as_of(value: str | None) -> datetime:
    if not value:
        return timezone.now()
    parsed = parse_datetime(value)
    if parsed is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"Not a date: {value!r} (use YYYY-MM-DD or an ISO 8601 date and time).")
        parsed = datetime.combine(day, time.max)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed)


class Command(BaseCommand):
    help = "Pay ended spend-threshold and retroactive campaigns (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="Settle as if on this date (YYYY-MM-DD) or date and time.")

    def handle(self, *args, as_of: str | None = None, **options) -> None:
        report = campaigns_settle(as_of=parse_as_of(as_of))
        self.stdout.write(
            f"Settled {report.campaigns} campaign(s): {report.members} member payment(s), "
            f"{report.points} points."
        )
        for code in report.settled:
            self.stdout.write(f"  {code}")
