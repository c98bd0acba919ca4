from members.jobs.command import JobCommand
from members.models import JobRun
from rewards.services import VoucherExpiry


class Command(JobCommand):
    help = "Expire issued vouchers past their expiry; the program's policy refunds or forfeits the points."
    job_name = "expire_vouchers"

    def report(self, run: JobRun, totals: VoucherExpiry) -> list[str]:
        return [
            self.style.SUCCESS(
                f"Expired {totals.vouchers} voucher(s): {totals.points_returned} points returned, "
                f"{totals.points_forfeited} forfeited."
            )
        ]
