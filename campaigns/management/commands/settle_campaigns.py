"""``manage.py settle_campaigns [--as-of DATE]``: pay ended threshold and retroactive campaigns."""

from campaigns.services import SettlementReport
from members.jobs.command import JobCommand
from members.models import JobRun


class Command(JobCommand):
    help = "Pay ended spend-threshold and retroactive campaigns (idempotent)."
    job_name = "settle_campaigns"
    day_end = True  # a date settles what ended on that day: as of its last moment

    def report(self, run: JobRun, totals: SettlementReport) -> list[str]:
        return [
            f"Settled {totals.campaigns} campaign(s): {totals.members} member payment(s), "
            f"{totals.points} points.",
            *(f"  {code}" for code in totals.settled),
        ]
