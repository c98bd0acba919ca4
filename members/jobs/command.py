"""The shape every job command shares: ``manage.py <job> [--as-of DATE] [--chunk-size N]``,
run inline chunk after chunk through the job runner, printing the counts."""

from __future__ import annotations

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from ..models import JobRun
from .base import Counts
from .runner import job_run


def parse_as_of(value: str | None, *, day_end: bool = False) -> datetime | None:
    """A date (the start of that day in the site's time zone, or its last moment with
    ``day_end``) or an ISO 8601 datetime."""
    if not value:
        return None
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise CommandError(f"--as-of: {value!r} is neither a date (YYYY-MM-DD) nor a datetime.")
        moment = datetime.combine(day, time.max if day_end else time.min)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


class JobCommand(BaseCommand):
    """``job_name`` is the registered job; with ``day_end`` a bare date means the last moment
    of that day (what ended on that day is due), else its first."""

    job_name = ""
    day_end = False

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="Run as if on this date (YYYY-MM-DD) or datetime; default now.")
        parser.add_argument("--chunk-size", type=int, help="Members per chunk (LOYALTY_JOB_CHUNK_SIZE).")

    def handle(self, *args, **options) -> None:
        run, totals = job_run(
            name=self.job_name,
            as_of=parse_as_of(options["as_of"], day_end=self.day_end),
            chunk_size=options["chunk_size"],
        )
        for line in self.report(run, totals):
            self.stdout.write(line)

    def report(self, run: JobRun, totals: Counts) -> list[str]:
        return [
            self.style.SUCCESS(
                f"{self.job_name} as of {run.as_of.isoformat()}: {totals.as_text()} "
                f"({run.chunks_done} chunk(s), run {run.pk})"
            )
        ]
