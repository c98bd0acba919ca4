"""Two beat schedulers at once: each sends every scheduled job, and each job still runs once per
period. A message redelivered after its worker died runs again; a run by hand always runs."""

from __future__ import annotations

import pytest

from campaigns import tasks as campaign_tasks
from loyalty_site.celery import app
from members import tasks
from members.models import JobRun
from rewards import tasks as reward_tasks
from tests.factories import MemberFactory


def beat_message(task, task_id: str, **kwargs):
    """The task run as a worker runs one message sent by a beat (with that message's id)."""
    # Celery's eager apply() marks joins as blocking process-wide while a task runs, so with two
    # threads one thread's get() could see the other's flag: the check is switched off here.
    return task.apply(kwargs={"scheduled": True, **kwargs}, task_id=task_id).get(disable_sync_subtasks=False)


def test_every_job_in_the_schedule_is_sent_as_scheduled():
    sent = {e["task"]: e.get("kwargs") for e in app.conf.beat_schedule.values()}
    # the jobs, the webhooks sweeper and the outbox purge
    assert len(sent) == 14 and all(kwargs == {"scheduled": True} for kwargs in sent.values())


def test_two_beats_run_the_campaign_and_voucher_jobs_once(program):
    for task, job in (
        (campaign_tasks.campaigns_settle_task, "settle_campaigns"),
        (campaign_tasks.birthday_bonuses_award_task, "birthday_bonuses"),
        (reward_tasks.vouchers_expire_task, "expire_vouchers"),
    ):
        first = beat_message(task, f"a-{job}")
        second = beat_message(task, f"b-{job}")
        assert (first.job, first.skipped, first.outcome) == (job, False, "succeeded")
        assert (second.job, second.skipped, second.run_id) == (job, True, None)
        # Run by hand, they always run.
        assert not task.delay().get().skipped
        assert JobRun.objects.filter(name=job).count() == 2


def test_two_beats_sending_the_tier_job_run_it_once(program):
    MemberFactory.create_batch(3)

    first = beat_message(tasks.tiers_recalculate_task, "beat-a-0200")
    second = beat_message(tasks.tiers_recalculate_task, "beat-b-0200")

    assert first.run_id is not None and not first.skipped
    assert second.skipped and second.run_id is None
    assert JobRun.objects.filter(name="recalculate_tiers").count() == 1


def test_each_job_has_its_own_period(program):
    MemberFactory.create_batch(2)
    for task in (tasks.tiers_recalculate_task, tasks.points_expire_task, tasks.points_release_pending_task):
        assert not beat_message(task, f"a-{task.name}").skipped
        assert beat_message(task, f"b-{task.name}").skipped
    assert beat_message(tasks.ledger_check_task, "a-check").outcome == "succeeded"
    assert beat_message(tasks.ledger_check_task, "b-check").skipped
    assert JobRun.objects.filter(name="check_ledger").count() == 1


def test_a_message_redelivered_after_a_lost_worker_still_runs(program):
    MemberFactory.create_batch(2)
    assert not beat_message(tasks.points_expire_task, "msg-1").skipped
    # The worker died before acknowledging: the broker hands the same message out again.
    assert not beat_message(tasks.points_expire_task, "msg-1").skipped
    assert beat_message(tasks.points_expire_task, "msg-2").skipped


def test_runs_by_hand_are_never_held_back(program):
    MemberFactory.create_batch(2)
    beat_message(tasks.tiers_recalculate_task, "beat")
    assert not tasks.tiers_recalculate_task.delay().get().skipped
    assert not tasks.tiers_recalculate_task.delay("2026-01-01T00:00:00+00:00").get().skipped
    assert JobRun.objects.filter(name="recalculate_tiers").count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_at_the_same_instant_run_the_job_once(program, threads):
    MemberFactory.create_batch(3)

    results = threads(2, lambda i: beat_message(tasks.tiers_recalculate_task, f"beat-{i}"))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.skipped for r in results) == [False, True]
    assert JobRun.objects.filter(name="recalculate_tiers").count() == 1
