"""The one job registry: every job the beat schedules is registered, runs through the one runner
and its task returns the one result type."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from kombu.utils.json import dumps, loads

import campaigns.tasks  # noqa: F401  (importing the task modules registers their tasks)
import members.tasks
import rewards.tasks  # noqa: F401
from loyalty_site.celery import app
from members.jobs import JOBS, JobOutcome
from members.schedule import DAILY, HOURLY

# The one scheduled task that is not a job over member ranges: a read of the whole ledger.
NOT_A_JOB = {
    members.tasks.ledger_check_task.name,
    "members.webhooks.tasks.webhooks_sweep_task",
    "members.webhooks.tasks.webhook_history_purge_task",
}


def test_the_registry_holds_every_job_of_every_app():
    assert sorted(JOBS) == [
        "birthday_bonuses",
        "end_memberships",
        "expire_points",
        "expire_vouchers",
        "issue_plan_vouchers",
        "recalculate_tiers",
        "recompute_challenges",
        "refresh_segments",
        "release_pending_points",
        "send_expiry_reminders",
        "settle_campaigns",
    ]
    for name, job in JOBS.items():
        assert job.name == name
        assert job.period in (DAILY, HOURLY)
        assert job.empty.rows_changed == 0


def test_every_beat_scheduled_task_runs_a_registered_job_at_its_period():
    jobs_scheduled = set()
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        task = app.tasks[entry["task"]]
        if task.name in NOT_A_JOB:
            continue
        assert task.job in JOBS, f"{task.name} runs {task.job!r}, which is not registered"
        hourly = len(entry["schedule"].hour) == 24
        assert JOBS[task.job].period == (HOURLY if hourly else DAILY), task.name
        jobs_scheduled.add(task.job)
    assert jobs_scheduled == set(JOBS), "a registered job the beat never runs"


@pytest.mark.parametrize(
    "outcome",
    [
        JobOutcome("settle_campaigns", 7, "succeeded", 3, "members 3, points 1500, campaigns 1"),
        JobOutcome.skip("birthday_bonuses"),
    ],
)
def test_a_job_outcome_goes_through_the_brokers_json_whole(outcome):
    text = dumps(outcome)

    assert json.loads(text)  # plain JSON on the wire
    assert loads(text) == outcome
