"""``manage.py recompute_challenges [--as-of DATE]``: challenge progress again from history."""

from campaigns.engagement.jobs import RecomputeResult
from members.jobs.command import JobCommand
from members.models import JobRun


class Command(JobCommand):
    help = "Recompute challenge progress, completions, streak milestones and badges from history."
    job_name = "recompute_challenges"

    def report(self, run: JobRun, totals: RecomputeResult) -> list[str]:
        return [
            f"{totals.progress_rows} progress row(s) changed, {totals.completions} completion(s), "
            f"{totals.undone} undone, {totals.badges} badge(s), {totals.points} points."
        ]
