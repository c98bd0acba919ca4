"""The scheduled jobs of the core (tiers, expiry, pending points, reminders), the one registry
and runner every app's jobs go through, and the ledger check.

Every job is set-based SQL over a range of member ids (a handful of statements per chunk,
never a loop over members), one transaction per chunk. A chunk finds the members of its range
that have work, locks those member rows in id order (the order every other writer uses, so no
deadlock) and decides again under the locks. Chunks are idempotent, so a job killed halfway is
run again from the start and finds nothing left to do where it had finished; two runs at once
queue on the row locks and the second finds the work done. A ``JobRun`` row records each run
and its progress.

Run them with ``manage.py <job> [--as-of DATE]`` (inline) or as the Celery tasks of
``members.tasks`` (fanned out as a group of chunks). ``campaigns`` (campaign settlement,
birthday bonuses) and ``rewards`` (voucher expiry) register theirs with ``job_register``.
"""

from __future__ import annotations

from datetime import datetime

from .base import ChunkResult, Counts, member_id_ranges
from .ledger_check import ledger_check_record, ledger_check_run
from .reminders import ReminderResult
from .runner import (
    JOBS,
    Job,
    JobOutcome,
    job_chunk_run,
    job_chunks_run,
    job_fail,
    job_register,
    job_run,
    job_start,
)
from .tiers import TierResult, tier_moves_preview

__all__ = [
    "JOBS",
    "Job",
    "JobOutcome",
    "ChunkResult",
    "Counts",
    "ReminderResult",
    "TierResult",
    "expire_points",
    "expiry_reminders_send",
    "job_chunk_run",
    "job_chunks_run",
    "job_fail",
    "job_register",
    "job_run",
    "job_start",
    "ledger_check_record",
    "ledger_check_run",
    "member_id_ranges",
    "release_pending_points",
    "tier_moves_preview",
    "tiers_recalculate",
]


def tiers_recalculate(*, as_of: datetime | None = None, notify: bool = True) -> TierResult:
    return job_run(name="recalculate_tiers", as_of=as_of, notify=notify)[1]


def expire_points(*, as_of: datetime | None = None) -> ChunkResult:
    return job_run(name="expire_points", as_of=as_of)[1]


def release_pending_points(*, as_of: datetime | None = None) -> ChunkResult:
    return job_run(name="release_pending_points", as_of=as_of)[1]


def expiry_reminders_send(*, as_of: datetime | None = None, notify: bool = True) -> ReminderResult:
    return job_run(name="send_expiry_reminders", as_of=as_of, notify=notify)[1]
