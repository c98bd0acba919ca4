"""The nightly reconciliation end to end: the beat's ``check_ledger`` message finds a corrupted
member, every active staff user is mailed, and the staff portal's front page says the check
failed; once the member is put right, the next night's check passes and the page says so."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.cache import cache

from loyalty_site.celery import app
from members import tasks
from members.jobs import JobOutcome
from members.ledger.services import points_credit
from members.models import JobRun, LedgerEntry, Member
from tests.factories import MemberFactory, UserFactory


@pytest.fixture
def manager(program):
    from django.contrib.auth.models import Group

    from loyalty_site.staff.roles import PROGRAM_MANAGER

    user = UserFactory(email="manager@example.org", is_staff=True)
    user.groups.add(Group.objects.get(name=PROGRAM_MANAGER))
    return user


def nightly_check(night: str) -> JobOutcome:
    """The check as the beat sends it, once a night."""
    return tasks.ledger_check_task.apply(kwargs={"scheduled": True}, task_id=f"check-{night}").get()


def test_the_check_is_in_the_beat_schedule_every_night():
    entry = app.conf.beat_schedule["check-ledger"]
    assert entry["task"] == "members.tasks.ledger_check_task"
    assert entry["schedule"].hour == {4}


def test_a_corrupted_member_mails_staff_and_shows_on_the_staff_page(
    client, manager, django_capture_on_commit_callbacks
):
    UserFactory(email="ops@example.org", is_staff=True)
    UserFactory(email="gone@example.org", is_staff=True, is_active=False)
    honest, corrupted = MemberFactory(), MemberFactory()
    for m in (honest, corrupted):
        points_credit(member_id=m.pk, points=120, idempotency_key=f"k{m.pk}", source_type="system")
    # A write that went around the ledger services: the cached balance no longer matches.
    Member.objects.filter(pk=corrupted.pk).update(points_available=999)

    with django_capture_on_commit_callbacks(execute=True):
        outcome = nightly_check("monday")

    assert (outcome.job, outcome.outcome) == ("check_ledger", "failed")
    run = JobRun.objects.get(name="check_ledger")
    assert corrupted.member_number in run.detail and honest.member_number not in run.detail
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["manager@example.org", "ops@example.org"]
    assert "Ledger check failed" in message.subject
    assert corrupted.member_number in message.body

    client.force_login(manager)
    page = client.get("/staff/").content.decode()
    assert "the ledger check FAILED with 1 violation" in page

    # The ledger was right and the cached balance wrong: put the balance back.
    Member.objects.filter(pk=corrupted.pk).update(points_available=120)
    mail.outbox.clear()
    cache.clear()  # the next night
    with django_capture_on_commit_callbacks(execute=True):
        assert nightly_check("tuesday").outcome == "succeeded"
    assert mail.outbox == []
    assert "the ledger check passed" in client.get("/staff/").content.decode()
    assert LedgerEntry.objects.count() == 2


def test_the_same_night_twice_checks_once(program, django_capture_on_commit_callbacks):
    MemberFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert nightly_check("one-beat").outcome == "succeeded"
        assert nightly_check("other-beat").skipped
    assert JobRun.objects.filter(name="check_ledger").count() == 1
