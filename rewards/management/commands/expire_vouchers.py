from django.core.management.base import BaseCommand

from members.jobs.command import parse_as_of
from rewards.services import vouchers_expire


class Command(BaseCommand):
    help = "Expire issued vouchers past their expiry; the program's policy refunds or forfeits the points."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="Run as if on this date (YYYY-MM-DD) or datetime; default now.")

    def handle(self, *args, as_of: str | None, **options) -> None:
        result = vouchers_expire(as_of=parse_as_of(as_of))
        self.stdout.write(
            self.style.SUCCESS(
                f"Expired {result.vouchers} voucher(s): {result.points_returned} points returned, "
                f"{result.points_forfeited} forfeited."
            )
        )
