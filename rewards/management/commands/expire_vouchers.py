from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from rewards.services import vouchers_expire


class Command(BaseCommand):
    help = "Expire issued vouchers past their expiry; the program's policy refunds or forfeits the points."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="Run as if on this date (YYYY-MM-DD) or ISO datetime.")

    def handle(self, *args, as_of: str | None, **options) -> None:
        moment = None
        if as_of:
            moment = parse_datetime(as_of)
            if moment is None and (day := parse_date(as_of)):
                moment = timezone.make_aware(datetime.combine(day, time.max))
            if moment is None:
                raise CommandError(f"Not a date: {as_of!r}")
            if timezone.is_naive(moment):
                moment = timezone.make_aware(moment)
        result = vouchers_expire(as_of=moment)
        self.stdout.write(
            f"Expired {result.vouchers} voucher(s): {result.points_returned} points returned, "
            f"{result.points_forfeited} forfeited."
        )
