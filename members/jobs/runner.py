"""Running a job: the registry of chunked jobs, the ``JobRun`` record, and the two ways to run
the chunks (inline, one after another, or fanned out as a Celery group by ``members.tasks``).

Each chunk adds its counts to the run's row inside its own transaction, so the counters always
match the work committed and staff see progress while the job runs. A job killed halfway is
simply run again: chunks already done find nothing left to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import JobRun
from .base import ChunkResult, Counts, db_datetime, member_id_ranges
from .points import expire_lots_chunk, release_pending_chunk
from .reminders import ReminderResult, expiry_reminders_chunk
from .tiers import TierResult, tiers_recalculate_chunk


@dataclass(frozen=True)
class Job:
    name: str
    chunk: Callable[..., Counts]
    empty: Counts


JOBS: dict[str, Job] = {
    job.name: job
    for job in [
        Job("recalculate_tiers", tiers_recalculate_chunk, TierResult()),
        Job("expire_points", expire_lots_chunk, ChunkResult()),
        Job("release_pending_points", release_pending_chunk, ChunkResult()),
        Job("send_expiry_reminders", expiry_reminders_chunk, ReminderResult()),
    ]
}


def job_register(job: Job) -> None:
    """Add another app's chunked job (from its ``AppConfig.ready``), so it runs, records its
    ``JobRun`` and counts its chunks like the core's."""
    JOBS[job.name] = job


def job_start(
    *,
    name: str,
    as_of: datetime | None = None,
    chunk_size: int | None = None,
    first_id: int | None = None,
    last_id: int | None = None,
) -> tuple[JobRun, list[tuple[int, int]]]:
    """Record a new run of job ``name`` and return it with the id ranges of its chunks."""
    if name not in JOBS:
        raise KeyError(f"Unknown job {name!r}.")
    as_of = as_of or timezone.now()
    ranges = list(member_id_ranges(chunk_size, first_id=first_id, last_id=last_id))
    run = JobRun.objects.create(name=name, as_of=as_of, chunks_total=len(ranges))
    if not ranges:
        JobRun.objects.filter(pk=run.pk).update(
            outcome=JobRun.Outcome.SUCCEEDED, finished_at=timezone.now()
        )
    return run, ranges


def _chunk_claim(*, run_id: int, first_id: int, last_id: int) -> bool:
    """Mark a chunk of a run as done, inside the chunk's transaction; False when an earlier
    delivery of the same chunk already committed. A delivery running at the same moment waits
    on the unique index and then finds the first one's row."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO members_jobchunk (run_id, first_id, last_id, created_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (run_id, first_id) DO NOTHING",
            [run_id, first_id, last_id, db_datetime(timezone.now())],
        )
        return cursor.rowcount == 1


def job_chunk_run(
    *, run_id: int, name: str, as_of: datetime, first_id: int, last_id: int, notify: bool = True
) -> Counts:
    """Run one chunk of a recorded run and count it; the chunk that completes the run closes it.
    A chunk already committed for this run is skipped, so a redelivery counts nothing twice."""
    with transaction.atomic():
        if not _chunk_claim(run_id=run_id, first_id=first_id, last_id=last_id):
            return JOBS[name].empty
        result = JOBS[name].chunk(as_of=as_of, first_id=first_id, last_id=last_id, notify=notify)
        JobRun.objects.filter(pk=run_id).update(
            chunks_done=F("chunks_done") + 1, rows_changed=F("rows_changed") + result.rows_changed
        )
        JobRun.objects.filter(
            pk=run_id, chunks_done__gte=F("chunks_total"), outcome=JobRun.Outcome.RUNNING
        ).update(outcome=JobRun.Outcome.SUCCEEDED, finished_at=timezone.now())
    return result


def job_fail(*, run_id: int, error: BaseException) -> None:
    JobRun.objects.filter(pk=run_id).update(
        outcome=JobRun.Outcome.FAILED,
        finished_at=timezone.now(),
        detail=f"{type(error).__name__}: {error}"[:2000],
    )


def job_run(
    *,
    name: str,
    as_of: datetime | None = None,
    chunk_size: int | None = None,
    first_id: int | None = None,
    last_id: int | None = None,
    notify: bool = True,
) -> tuple[JobRun, Counts]:
    """Run every chunk of job ``name`` inline, one after another; returns the run and totals."""
    run, ranges = job_start(
        name=name, as_of=as_of, chunk_size=chunk_size, first_id=first_id, last_id=last_id
    )
    total = JOBS[name].empty
    try:
        for chunk_first, chunk_last in ranges:
            total += job_chunk_run(
                run_id=run.pk,
                name=name,
                as_of=run.as_of,
                first_id=chunk_first,
                last_id=chunk_last,
                notify=notify,
            )
    except BaseException as error:
        job_fail(run_id=run.pk, error=error)
        raise
    JobRun.objects.filter(pk=run.pk).update(detail=total.as_text())
    run.refresh_from_db()
    return run, total
