"""Celery tasks of the core: thin wrappers that take ids or ISO dates and call a service.

Every scheduled job runs the same way: its named task (made by ``job_task``, one per beat
entry, in the app that owns the job) calls ``job_dispatch``, which records a ``JobRun`` and
runs its chunks inline when there is one, or fans them out as a group of ``job_chunk_task``
(any number of workers share them). Every chunk is idempotent, so ``acks_late`` redelivery
after a lost worker is safe. Every job task returns a ``JobOutcome``.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from celery import group, shared_task
from celery.app.task import Task
from django.conf import settings
from django.utils.dateparse import parse_datetime
from kombu.utils.json import register_type

from .jobs import JOBS, JobOutcome, job_chunk_run, job_chunks_run, job_fail, job_start, ledger_check_run
from .jobs.notify import expiry_reminders_notify, ledger_check_failed_notify, tier_changes_notify
from .models import JobRun
from .schedule import DAILY, first_this_period

CHUNK_TASK_OPTIONS = {"acks_late": True, "soft_time_limit": 20 * 60, "time_limit": 25 * 60}
LEDGER_CHECK = "check_ledger"

# A result backend, if one is ever configured, stores outcomes as JSON and gives them back whole.
register_type(JobOutcome, "job_outcome", asdict, lambda fields: JobOutcome(**fields))


def _as_of(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def job_dispatch(name: str, *, as_of: str | None = None, scheduled: bool = False) -> JobOutcome:
    """Run registered job ``name`` as of ``as_of`` (an ISO datetime; default now). A run of
    several chunks is fanned out as a group when fan-out is on (``LOYALTY_JOB_FAN_OUT``,
    default on); one chunk, or fan-out off, runs inline in this task. A ``scheduled`` (beat)
    message for a period that already ran is skipped."""
    if scheduled and not first_this_period(name, JOBS[name].period):
        return JobOutcome.skip(name)
    run, ranges = job_start(name=name, as_of=_as_of(as_of))
    if len(ranges) > 1 and getattr(settings, "LOYALTY_JOB_FAN_OUT", True):
        iso = run.as_of.isoformat()
        group(job_chunk_task.s(run.pk, name, iso, first, last) for first, last in ranges).apply_async()
    else:
        job_chunks_run(run=run, ranges=ranges)
    run.refresh_from_db()
    return JobOutcome.of(run)


def job_task(task_name: str, job: str) -> Task:
    """The named Celery task the beat sends for registered job ``job``: ``(as_of=None,
    scheduled=False)``, a thin wrapper over ``job_dispatch``. The task's ``job`` attribute
    names the job it runs."""

    def run_job(as_of: str | None = None, scheduled: bool = False) -> JobOutcome:
        return job_dispatch(job, as_of=as_of, scheduled=scheduled)

    run_job.__name__ = run_job.__qualname__ = task_name.rsplit(".", 1)[1]
    run_job.__doc__ = f"Run the {job} job (see ``job_dispatch``)."
    return shared_task(name=task_name, job=job, acks_late=True)(run_job)


@shared_task(name="members.tasks.job_chunk_task", **CHUNK_TASK_OPTIONS)
def job_chunk_task(run_id: int, name: str, as_of: str, first_id: int, last_id: int) -> JobOutcome:
    try:
        job_chunk_run(
            run_id=run_id, name=name, as_of=parse_datetime(as_of), first_id=first_id, last_id=last_id
        )
    except Exception as error:
        job_fail(run_id=run_id, error=error)
        raise
    return JobOutcome.of(JobRun.objects.get(pk=run_id))


tiers_recalculate_task = job_task("members.tasks.tiers_recalculate_task", "recalculate_tiers")
points_expire_task = job_task("members.tasks.points_expire_task", "expire_points")
points_release_pending_task = job_task("members.tasks.points_release_pending_task", "release_pending_points")
expiry_reminders_send_task = job_task("members.tasks.expiry_reminders_send_task", "send_expiry_reminders")
memberships_end_task = job_task("members.tasks.memberships_end_task", "end_memberships")


@shared_task(name="members.tasks.ledger_check_task", acks_late=True)
def ledger_check_task(scheduled: bool = False) -> JobOutcome:
    """The ledger check: not a job over member ranges but one read of the whole ledger,
    recorded as a ``check_ledger`` run; once a day however many beats send it."""
    if scheduled and not first_this_period(LEDGER_CHECK, DAILY):
        return JobOutcome.skip(LEDGER_CHECK)
    return JobOutcome.of(ledger_check_run())


@shared_task(name="members.tasks.tier_changes_notify_task", acks_late=True)
def tier_changes_notify_task(change_ids: list[int]) -> int:
    return tier_changes_notify(change_ids=change_ids)


@shared_task(name="members.tasks.expiry_reminders_notify_task", acks_late=True)
def expiry_reminders_notify_task(reminder_ids: list[int]) -> int:
    return expiry_reminders_notify(reminder_ids=reminder_ids)


@shared_task(name="members.tasks.ledger_check_failed_notify_task", acks_late=True)
def ledger_check_failed_notify_task(run_id: int) -> int:
    return ledger_check_failed_notify(run_id=run_id)


@shared_task(name="members.tasks.transfer_received_notify_task", acks_late=True)
def transfer_received_notify_task(transfer_id: int) -> bool:
    from .transfers import transfer_received_notify

    return transfer_received_notify(transfer_id=transfer_id)
