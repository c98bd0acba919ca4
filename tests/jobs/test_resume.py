"""A job killed after some chunks and run again ends in the same state as one clean run, and two
runs at once change nothing twice."""

import pytest
from django.db import transaction

from campaigns.models import Segment, SegmentCondition, SegmentMember
from members.jobs import job_run
from members.ledger.invariants import ledger_violations
from members.models import ExpiryReminder, JobRun, LedgerEntry, TierChange

from .conftest import buy, earn, make_member, snapshot
from .support import Killed, killed_after

JOB_NAMES = [
    "recalculate_tiers",
    "expire_points",
    "release_pending_points",
    "send_expiry_reminders",
    "refresh_segments",
]


def populate(program, count: int = 9) -> None:
    """Members that every job has work for: tier moves both ways, expired, pending and soon
    expiring lots; a segment of those who spent 1,000 or more in the last year."""
    segment = Segment.objects.create(code="big-spenders", name="Big spenders")
    SegmentCondition.objects.create(segment=segment, field="spend", number=1000, days=365)
    for i in range(count):
        code, held = [("gold", -1), ("bronze", 30), ("silver", -3)][i % 3]
        member = make_member(program, code=code, held_days=held)
        buy(member, str(300 + 700 * (i % 4)), days_ago=20 + i)
        earn(member, 10 + i, days_ago=370 + i)  # expired
        earn(member, 20 + i, days_ago=350)  # expires within 30 days
        earn(member, 5 + i, days_ago=14, pending_days=14)  # window closes now


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("name", JOB_NAMES)
def test_a_job_killed_after_some_chunks_and_run_again_ends_as_one_clean_run(program, monkeypatch, name):
    populate(program)
    before = snapshot()

    clean_point = transaction.savepoint()
    clean_run, clean_result = job_run(name=name, chunk_size=2, notify=False)
    clean = snapshot()
    transaction.savepoint_rollback(clean_point)
    assert snapshot() == before

    with monkeypatch.context() as patch:
        killed_after(patch, name, chunks=2)
        with pytest.raises(Killed):
            job_run(name=name, chunk_size=2, notify=False)
    killed = JobRun.objects.get(name=name, outcome=JobRun.Outcome.FAILED)
    assert (killed.chunks_done, killed.chunks_total) == (2, 5)
    assert "Killed" in killed.detail
    partial = snapshot()
    assert partial != before and partial != clean

    rerun, rerun_result = job_run(name=name, chunk_size=2, notify=False)

    assert snapshot() == clean
    assert clean != before
    assert killed.rows_changed + rerun.rows_changed == clean_run.rows_changed > 0
    assert rerun.outcome == JobRun.Outcome.SUCCEEDED
    assert ledger_violations() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("name", JOB_NAMES)
def test_two_runs_at_once_change_nothing_twice(program, threads, name):
    populate(program, count=12)
    expected = {
        "recalculate_tiers": 11,  # 5 up, 3 down, 3 holds renewed
        "expire_points": 12,
        "release_pending_points": 12,
        "send_expiry_reminders": 12,
        "refresh_segments": 9,  # the three of every four who spent 1,000 or more
    }[name]

    results = threads(2, lambda i: job_run(name=name, chunk_size=3, notify=False))

    assert not [r for r in results if isinstance(r, Exception)], results
    runs = [run for run, _ in results]
    assert sum(run.rows_changed for run in runs) == expected
    assert all(run.outcome == JobRun.Outcome.SUCCEEDED and run.chunks_done == 4 for run in runs)
    assert ledger_violations() == []
    if name == "recalculate_tiers":
        assert TierChange.objects.count() == 8
    if name == "expire_points":
        assert LedgerEntry.objects.filter(kind="expire").count() == 12
    if name == "send_expiry_reminders":
        assert ExpiryReminder.objects.count() == 12
    if name == "refresh_segments":
        assert SegmentMember.objects.count() == 9
    assert job_run(name=name, chunk_size=3, notify=False)[0].rows_changed == 0
