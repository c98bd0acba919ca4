"""The Celery tasks on the beat schedule, the commands and the admin of job runs."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from members import tasks
from members.jobs import TierResult, job_chunk_run, job_start
from members.models import JobRun, LedgerEntry, Member, TierChange
from tests import factories

from .conftest import NOW, buy, earn, make_member, tier

pytestmark = pytest.mark.usefixtures("frozen")


def test_every_scheduled_member_task_exists():
    names = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    members_tasks = {name for name in names if name.startswith("members.tasks.")}
    assert members_tasks == {
        "members.tasks.tiers_recalculate_task",
        "members.tasks.points_expire_task",
        "members.tasks.points_release_pending_task",
        "members.tasks.expiry_reminders_send_task",
        "members.tasks.ledger_check_task",
        "members.tasks.memberships_end_task",
    }
    for name in members_tasks:
        assert getattr(tasks, name.rsplit(".", 1)[1]).name == name


def test_the_tier_task_fans_out_as_a_group_of_chunks(program, settings, django_capture_on_commit_callbacks):
    settings.LOYALTY_JOB_CHUNK_SIZE = 2
    members = [make_member(program, held_days=50) for _ in range(5)]
    for member in members:
        buy(member, "1700")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = tasks.tiers_recalculate_task.delay().get()

    run = JobRun.objects.get(pk=outcome.run_id)
    assert (run.name, run.chunks_total, run.chunks_done, run.rows_changed) == ("recalculate_tiers", 3, 3, 5)
    assert run.outcome == JobRun.Outcome.SUCCEEDED
    assert set(Member.objects.values_list("tier", flat=True)) == {tier("gold").pk}
    assert TierChange.objects.filter(reason="catch_up").count() == 5


def test_a_chunk_delivered_twice_is_run_and_counted_once(program):
    # What a worker lost after the commit and before the acknowledgement leads to.
    members = [make_member(program, held_days=50) for _ in range(4)]
    for member in members:
        buy(member, "1700")
    run, ranges = job_start(name="recalculate_tiers", as_of=NOW, chunk_size=2)
    first, last = ranges[0]
    chunk = {"run_id": run.pk, "name": "recalculate_tiers", "as_of": NOW, "first_id": first, "last_id": last}

    once = job_chunk_run(**chunk, notify=False)
    again = job_chunk_run(**chunk, notify=False)

    run.refresh_from_db()
    assert (once.up, again) == (2, TierResult())
    assert (run.chunks_done, run.rows_changed, run.outcome) == (1, 2, JobRun.Outcome.RUNNING)
    assert list(run.chunks.values_list("first_id", "last_id")) == [(first, last)]

    job_chunk_run(**chunk | {"first_id": ranges[1][0], "last_id": ranges[1][1]}, notify=False)
    run.refresh_from_db()
    assert (run.chunks_done, run.rows_changed, run.outcome) == (2, 4, JobRun.Outcome.SUCCEEDED)


def test_a_failing_chunk_marks_the_run_failed(program, settings, monkeypatch):
    make_member(program)
    from members.jobs import runner

    def broken(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setitem(
        runner.JOBS, "expire_points", runner.Job("expire_points", broken, runner.ChunkResult())
    )

    with pytest.raises(RuntimeError):
        tasks.points_expire_task.delay(NOW.isoformat())

    run = JobRun.objects.get(name="expire_points")
    assert run.outcome == JobRun.Outcome.FAILED and "disk full" in run.detail


def test_expiry_and_release_tasks_take_an_as_of_date(program):
    member = make_member(program)
    earn(member, 10, days_ago=20, pending_days=14)
    earn(member, 7, days_ago=400)

    tasks.points_release_pending_task.delay(NOW.isoformat())
    tasks.points_expire_task.delay(NOW.isoformat())

    member.refresh_from_db()
    assert (member.points_available, member.points_pending) == (10, 0)
    assert list(JobRun.objects.order_by("id").values_list("name", "rows_changed", "outcome")) == [
        ("release_pending_points", 1, "succeeded"),
        ("expire_points", 1, "succeeded"),
    ]


def test_the_ledger_check_records_success_quietly(program, mailoutbox):
    member = make_member(program)
    earn(member, 10, days_ago=1)
    factories.UserFactory(is_staff=True)

    outcome = tasks.ledger_check_task.delay().get()

    assert (outcome.job, outcome.outcome, outcome.skipped) == ("check_ledger", "succeeded", False)
    run = JobRun.objects.get(name="check_ledger")
    assert outcome.run_id == run.pk
    assert run.detail == "Every invariant holds."
    assert mailoutbox == []


def test_the_ledger_check_mails_staff_when_an_invariant_breaks(
    program, mailoutbox, django_capture_on_commit_callbacks
):
    member = make_member(program)
    earn(member, 10, days_ago=1)
    Member.objects.filter(pk=member.pk).update(points_available=99)
    staff = factories.UserFactory(is_staff=True)
    factories.UserFactory(is_staff=False)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = tasks.ledger_check_task.delay().get()

    assert outcome.outcome == "failed"
    run = JobRun.objects.get(name="check_ledger")
    assert member.member_number in run.detail
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [staff.email]
    assert member.member_number in mailoutbox[0].body


def test_commands_run_as_of_a_date_and_print_counts(program):
    member = make_member(program, code="bronze", held_days=10)
    buy(member, "600", days_ago=1)
    earn(member, 12, days_ago=300)
    out = StringIO()

    call_command("recalculate_tiers", "--as-of", "2026-06-15", stdout=out)
    call_command("expire_points", "--as-of", str((NOW + timedelta(days=70)).date()), stdout=out)
    call_command("release_pending_points", stdout=out)
    call_command("send_expiry_reminders", "--as-of", "2026-06-15T02:00:00+00:00", stdout=out)

    text = out.getvalue()
    assert "recalculate_tiers as of 2026-06-15T00:00:00+00:00: up 1, down 0, renewed 0" in text
    assert "expire_points as of 2026-08-24T00:00:00+00:00: members 1, lots 1, points 12" in text
    assert "send_expiry_reminders" in text and "reminders 0" in text
    assert LedgerEntry.objects.filter(kind="expire", points=-12).exists()
    with pytest.raises(CommandError):
        call_command("expire_points", "--as-of", "yesterday")


def test_admin_lists_runs_with_their_progress(program, admin_client, django_assert_max_num_queries):
    JobRun.objects.create(name="recalculate_tiers", as_of=NOW, chunks_total=8, chunks_done=2)
    JobRun.objects.create(name="expire_points", as_of=NOW, chunks_total=4, chunks_done=4, outcome="succeeded")

    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("admin:members_jobrun_changelist"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "25% (2/8 chunks)" in page and "100% (4/4 chunks)" in page
    run = JobRun.objects.first()
    assert admin_client.get(reverse("admin:members_jobrun_change", args=[run.pk])).status_code == 200
    assert admin_client.get(reverse("admin:members_expiryreminder_changelist")).status_code == 200
