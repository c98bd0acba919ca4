"""``manage.py settle_campaigns [--as-of DATE]``: pay ended threshold and retroactive campaigns."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from campaigns.services import campaigns_settle
from members.jobs.command import parse_as_of


class Command(BaseCommand):
    help = "Pay ended spend-threshold and retroactive campaigns (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="Settle as if on this date (YYYY-MM-DD) or date and time.")

    def handle(self, *args, as_of: str | None = None, **options) -> None:
        # A date settles what ended on that day: as of its last moment.
        report = campaigns_settle(as_of=parse_as_of(as_of, day_end=True) or timezone.now())
        self.stdout.write(
            f"Settled {report.campaigns} campaign(s): {report.members} member payment(s), "
            f"{report.points} points."
        )
        for code in report.settled:
            self.stdout.write(f"  {code}")
