"""``manage.py refresh_segments [--as-of DATE]``: recompute every active segment's members."""

from campaigns.segments import SegmentResult
from members.jobs.command import JobCommand
from members.models import JobRun


class Command(JobCommand):
    help = "Recompute who is in every active segment (idempotent, chunked by member id)."
    job_name = "refresh_segments"

    def report(self, run: JobRun, totals: SegmentResult) -> list[str]:
        return [
            self.style.SUCCESS(
                f"refresh_segments as of {run.as_of.isoformat()}: {totals.added} added, "
                f"{totals.removed} removed ({run.chunks_done} chunk(s), run {run.pk})"
            )
        ]
