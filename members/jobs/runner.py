"""Running a job: the one registry of scheduled jobs, the ``JobRun`` record, and the two ways to
run a run's chunks (inline, one after another, or fanned out as a Celery group by
``members.tasks.job_dispatch``).

Every scheduled job is a ``Job`` in ``JOBS``: a chunk function over an inclusive member-id
range, the counters it returns, how often the beat runs it and, for a job that has something to
close once every chunk is done (settled campaigns), a ``finish`` step. The core's jobs are
listed here; ``campaigns`` and ``rewards`` add theirs with ``job_register`` from their
``AppConfig.ready`` (``members`` never imports them).

Each chunk claims its range in ``JobChunk`` and adds its counts to the run's row inside its own
transaction, so the counters always match the work committed, a redelivered chunk counts
nothing twice, and staff see progress while the job runs. The chunk that completes the run
closes it (and runs ``finish`` in the same transaction). A job killed halfway is simply run
again: chunks already done find nothing left to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from ..models import JobRun
from ..schedule import DAILY, HOURLY
from .base import ChunkResult, Counts, db_datetime, member_id_ranges
from .memberships import MembershipEndResult, memberships_end_chunk
from .points import expire_lots_chunk, release_pending_chunk
from .reminders import ReminderResult, expiry_reminders_chunk
from .tiers import TierResult, tiers_recalculate_chunk


@dataclass(frozen=True)
class Job:
    """A scheduled job. ``chunk(as_of=, first_id=, last_id=, notify=)`` does the work of one
    member-id range in one transaction and returns counters like ``empty``; ``period`` is how
    often the beat runs it (``members.schedule``); ``finish(run=)``, when set, runs after the
    last chunk, in its transaction, and returns counters added to that chunk's."""

    name: str
    chunk: Callable[..., Counts]
    empty: Counts
    period: str = DAILY
    finish: Callable[..., Counts] | None = None


JOBS: dict[str, Job] = {
    job.name: job
    for job in [
        Job("recalculate_tiers", tiers_recalculate_chunk, TierResult()),
        Job("expire_points", expire_lots_chunk, ChunkResult()),
        Job("release_pending_points", release_pending_chunk, ChunkResult(), period=HOURLY),
        Job("send_expiry_reminders", expiry_reminders_chunk, ReminderResult()),
        Job("end_memberships", memberships_end_chunk, MembershipEndResult()),
    ]
}


def job_register(job: Job) -> None:
    """Add another app's job (from its ``AppConfig.ready``), so it runs, records its ``JobRun``,
    fans out and is scheduled like the core's."""
    JOBS[job.name] = job


@dataclass(frozen=True)
class JobOutcome:
    """What every job task returns: the run it recorded or worked on, as it stood when the task
    returned (``running`` while fanned-out chunks are still queued), or ``skipped`` when the
    message was a second beat's for a period that had already run."""

    job: str
    run_id: int | None = None
    outcome: str = ""
    rows_changed: int = 0
    detail: str = ""
    skipped: bool = False

    @classmethod
    def of(cls, run: JobRun) -> JobOutcome:
        return cls(run.name, run.pk, str(run.outcome), run.rows_changed, run.detail)

    @classmethod
    def skip(cls, job: str) -> JobOutcome:
        return cls(job, skipped=True)


def job_start(
    *,
    name: str,
    as_of: datetime | None = None,
    chunk_size: int | None = None,
    first_id: int | None = None,
    last_id: int | None = None,
) -> tuple[JobRun, list[tuple[int, int]]]:
    """Record a new run of job ``name`` and return it with the id ranges of its chunks. With no
    member at all the run still has one (empty) chunk, so every run closes the same way."""
    if name not in JOBS:
        raise KeyError(f"Unknown job {name!r}.")
    as_of = as_of or timezone.now()
    ranges = list(member_id_ranges(chunk_size, first_id=first_id, last_id=last_id))
    ranges = ranges or [(first_id or 0, last_id or 0)]
    run = JobRun.objects.create(name=name, as_of=as_of, chunks_total=len(ranges))
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
    job = JOBS[name]
    with transaction.atomic():
        if not _chunk_claim(run_id=run_id, first_id=first_id, last_id=last_id):
            return job.empty
        result = job.chunk(as_of=as_of, first_id=first_id, last_id=last_id, notify=notify)
        JobRun.objects.filter(pk=run_id).update(
            chunks_done=F("chunks_done") + 1, rows_changed=F("rows_changed") + result.rows_changed
        )
        closed = JobRun.objects.filter(
            pk=run_id, chunks_done__gte=F("chunks_total"), outcome=JobRun.Outcome.RUNNING
        ).update(outcome=JobRun.Outcome.SUCCEEDED, finished_at=timezone.now())
        if closed and job.finish is not None:
            finished = job.finish(run=JobRun.objects.get(pk=run_id))
            JobRun.objects.filter(pk=run_id).update(rows_changed=F("rows_changed") + finished.rows_changed)
            result += finished
    return result


def job_fail(*, run_id: int, error: BaseException) -> None:
    JobRun.objects.filter(pk=run_id).update(
        outcome=JobRun.Outcome.FAILED,
        finished_at=timezone.now(),
        detail=f"{type(error).__name__}: {error}"[:2000],
    )


def job_chunks_run(*, run: JobRun, ranges: list[tuple[int, int]], notify: bool = True) -> Counts:
    """Run the chunks of a recorded run inline, one after another; returns the totals, which
    the run's ``detail`` also records. A chunk that raises fails the run."""
    total = JOBS[run.name].empty
    try:
        for chunk_first, chunk_last in ranges:
            total += job_chunk_run(
                run_id=run.pk,
                name=run.name,
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
    return total


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
    run, ranges = job_start(name=name, as_of=as_of, chunk_size=chunk_size, first_id=first_id, last_id=last_id)
    return run, job_chunks_run(run=run, ranges=ranges, notify=notify)
