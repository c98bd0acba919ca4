"""Celery tasks of the core: thin wrappers that take ids or ISO dates and call a service.

A chunked job records a ``JobRun`` and fans its id ranges out as a group of
``job_chunk_task`` (one per chunk; any number of workers share them). Every chunk is
idempotent, so ``acks_late`` redelivery after a lost worker is safe.
"""

from __future__ import annotations

from datetime import datetime

from celery import group, shared_task
from django.conf import settings
from django.utils.dateparse import parse_datetime

from .jobs import job_chunk_run, job_fail, job_run, job_start, ledger_check_run
from .jobs.notify import expiry_reminders_notify, ledger_check_failed_notify, tier_changes_notify
from .schedule import DAILY, HOURLY, first_this_period

CHUNK_TASK_OPTIONS = {"acks_late": True, "soft_time_limit": 20 * 60, "time_limit": 25 * 60}


def _as_of(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


# How often the beat schedule runs each job (see ``members.schedule``).
PERIODS = {
    "recalculate_tiers": DAILY,
    "expire_points": DAILY,
    "release_pending_points": HOURLY,
    "send_expiry_reminders": DAILY,
    "check_ledger": DAILY,
}


def _dispatch(name: str, as_of: str | None, scheduled: bool = False) -> int:
    """Run job ``name``: fanned out as a group when it has more than one chunk and fan-out is
    on (``LOYALTY_JOB_FAN_OUT``, default on), inline otherwise. Returns the run's id, or 0 when
    the beat's message for this period was already run."""
    if scheduled and not first_this_period(name, PERIODS[name]):
        return 0
    if not getattr(settings, "LOYALTY_JOB_FAN_OUT", True):
        return job_run(name=name, as_of=_as_of(as_of))[0].pk
    run, ranges = job_start(name=name, as_of=_as_of(as_of))
    if ranges:
        iso = run.as_of.isoformat()
        group(job_chunk_task.s(run.pk, name, iso, first, last) for first, last in ranges).apply_async()
    return run.pk


@shared_task(name="members.tasks.job_chunk_task", **CHUNK_TASK_OPTIONS)
def job_chunk_task(run_id: int, name: str, as_of: str, first_id: int, last_id: int) -> int:
    try:
        result = job_chunk_run(
            run_id=run_id, name=name, as_of=parse_datetime(as_of), first_id=first_id, last_id=last_id
        )
    except Exception as error:
        job_fail(run_id=run_id, error=error)
        raise
    return result.rows_changed


@shared_task(name="members.tasks.tiers_recalculate_task", acks_late=True)
def tiers_recalculate_task(as_of: str | None = None, scheduled: bool = False) -> int:
    return _dispatch("recalculate_tiers", as_of, scheduled)


@shared_task(name="members.tasks.points_expire_task", acks_late=True)
def points_expire_task(as_of: str | None = None, scheduled: bool = False) -> int:
    return _dispatch("expire_points", as_of, scheduled)


@shared_task(name="members.tasks.points_release_pending_task", acks_late=True)
def points_release_pending_task(as_of: str | None = None, scheduled: bool = False) -> int:
    return _dispatch("release_pending_points", as_of, scheduled)


@shared_task(name="members.tasks.expiry_reminders_send_task", acks_late=True)
def expiry_reminders_send_task(as_of: str | None = None, scheduled: bool = False) -> int:
    return _dispatch("send_expiry_reminders", as_of, scheduled)


@shared_task(name="members.tasks.ledger_check_task", acks_late=True)
def ledger_check_task(scheduled: bool = False) -> str:
    if scheduled and not first_this_period("check_ledger", PERIODS["check_ledger"]):
        return "skipped"
    return ledger_check_run().outcome


@shared_task(name="members.tasks.tier_changes_notify_task", acks_late=True)
def tier_changes_notify_task(change_ids: list[int]) -> int:
    return tier_changes_notify(change_ids=change_ids)


@shared_task(name="members.tasks.expiry_reminders_notify_task", acks_late=True)
def expiry_reminders_notify_task(reminder_ids: list[int]) -> int:
    return expiry_reminders_notify(reminder_ids=reminder_ids)


@shared_task(name="members.tasks.ledger_check_failed_notify_task", acks_late=True)
def ledger_check_failed_notify_task(run_id: int) -> int:
    return ledger_check_failed_notify(run_id=run_id)
