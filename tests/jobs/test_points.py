"""Expiry (rolling and inactivity), pending release and expiry reminders."""

from datetime import date, timedelta

import pytest

from members.jobs import expire_points, expiry_reminders_send, release_pending_points
from members.ledger.invariants import ledger_violations
from members.ledger.services import points_debit
from members.models import ExpiryReminder, LedgerEntry, LotAllocation, Member, PointLot, Program

from .conftest import NOW, earn, make_member

pytestmark = pytest.mark.usefixtures("frozen")
Kind = LedgerEntry.Kind


def balances(member) -> tuple[int, int]:
    member.refresh_from_db()
    return member.points_available, member.points_pending


def test_rolling_expiry_empties_only_lots_past_their_date(program):
    member = make_member(program)
    old = earn(member, 30, days_ago=400).entry.lot
    older = earn(member, 20, days_ago=366).entry.lot
    fresh = earn(member, 50, days_ago=300).entry.lot
    points_debit(member_id=member.pk, points=10, idempotency_key="spend", source_type="redemption")

    result = expire_points()

    assert (result.members, result.lots, result.points) == (1, 2, 40)
    expiry = LedgerEntry.objects.get(member=member, kind=Kind.EXPIRE)
    assert (expiry.points, expiry.balance_after, expiry.created_at) == (-40, 50, NOW)
    assert {a.lot_id: a.points for a in LotAllocation.objects.filter(entry=expiry)} == {
        old.pk: 20,
        older.pk: 20,
    }
    assert list(PointLot.objects.filter(remaining__gt=0).values_list("pk", flat=True)) == [fresh.pk]
    assert balances(member) == (50, 0)
    assert expire_points().lots == 0
    assert LedgerEntry.objects.filter(kind=Kind.EXPIRE).count() == 1
    assert ledger_violations() == []


def test_inactivity_expiry_takes_every_point_of_inactive_members_only(program):
    Program.objects.filter(pk=1).update(expiry_mode=Program.ExpiryMode.INACTIVITY, expiry_days=180)
    sleeper = make_member(program)
    earn(sleeper, 70, days_ago=300)
    earn(sleeper, 30, days_ago=200)
    active = make_member(program)
    earn(active, 40, days_ago=300)
    earn(active, 5, days_ago=10)

    result = expire_points()

    assert (result.members, result.lots, result.points) == (1, 2, 100)
    assert balances(sleeper) == (0, 0)
    assert balances(active) == (45, 0)
    entry = LedgerEntry.objects.get(kind=Kind.EXPIRE)
    assert (entry.member_id, entry.points, entry.balance_after) == (sleeper.pk, -100, 0)
    assert PointLot.objects.filter(member=sleeper, expires_at__isnull=True, remaining=0).count() == 2
    assert expire_points().points == 0
    assert ledger_violations() == []


def test_inactivity_mode_still_expires_lots_dated_under_the_rolling_rule(program):
    member = make_member(program)
    earn(member, 25, days_ago=400)  # opened while expiry was rolling: it carries a date
    Program.objects.filter(pk=1).update(expiry_mode=Program.ExpiryMode.INACTIVITY, expiry_days=730)
    earn(member, 10, days_ago=5)

    assert expire_points().points == 25
    assert balances(member) == (10, 0)


def test_pending_points_are_released_when_the_return_window_closes(program):
    member = make_member(program)
    earn(member, 70, days_ago=14, pending_days=14)  # window closes exactly now
    earn(member, 30, days_ago=10, pending_days=14)

    result = release_pending_points()

    assert (result.members, result.lots, result.points) == (1, 1, 70)
    assert balances(member) == (70, 30)
    assert release_pending_points().lots == 0
    assert release_pending_points(as_of=NOW + timedelta(days=4)).points == 30
    assert balances(member) == (100, 0)
    assert ledger_violations() == []


def test_expiry_of_pending_points_lowers_the_pending_balance(program):
    member = make_member(program)
    earn(member, 15, days_ago=366, pending_days=30)  # never released, now past expiry

    expire_points()

    assert balances(member) == (0, 0)
    assert ledger_violations() == []


def test_reminders_go_once_per_member_and_expiry_date(
    program, django_capture_on_commit_callbacks, mailoutbox
):
    member = make_member(program)
    earn(member, 10, days_ago=355)  # expires in 10 days
    earn(member, 5, days_ago=355, key="same-day")  # the same date: one reminder for both
    earn(member, 20, days_ago=340)  # in 25 days
    earn(member, 40, days_ago=300)  # in 65 days: not yet
    opted_out = make_member(program, reminder_opt_in=False)
    earn(opted_out, 10, days_ago=355)

    with django_capture_on_commit_callbacks(execute=True):
        first = expiry_reminders_send()
    with django_capture_on_commit_callbacks(execute=True):
        second = expiry_reminders_send()

    assert (first.reminders, second.reminders) == (2, 0)
    reminders = {r.expires_on: r.points for r in ExpiryReminder.objects.filter(member=member)}
    assert reminders == {date(2026, 6, 25): 15, date(2026, 7, 10): 20}
    assert not ExpiryReminder.objects.filter(member=opted_out).exists()
    assert ExpiryReminder.objects.filter(sent_at=NOW).count() == 2
    assert len(mailoutbox) == 2
    assert {m.subject for m in mailoutbox} == {
        "15 of your points expire on 25 June 2026",
        "20 of your points expire on 10 July 2026",
    }

    # A day later the 65-day lot is still out of reach and nothing is sent again.
    with django_capture_on_commit_callbacks(execute=True):
        assert expiry_reminders_send(as_of=NOW + timedelta(days=1)).reminders == 0
    assert len(mailoutbox) == 2


def test_reminders_in_inactivity_mode_name_the_day_everything_expires(
    program, django_capture_on_commit_callbacks, mailoutbox
):
    Program.objects.filter(pk=1).update(expiry_mode=Program.ExpiryMode.INACTIVITY, expiry_days=180)
    member = make_member(program)
    earn(member, 60, days_ago=170)  # last activity 170 days ago: everything goes in 10 days
    busy = make_member(program)
    earn(busy, 60, days_ago=20)

    with django_capture_on_commit_callbacks(execute=True):
        result = expiry_reminders_send()

    assert result.reminders == 1
    reminder = ExpiryReminder.objects.get()
    assert (reminder.member_id, reminder.expires_on, reminder.points) == (member.pk, date(2026, 6, 25), 60)
    assert mailoutbox[0].to == [member.email]


def test_inactive_members_without_points_are_not_reminded(program):
    Program.objects.filter(pk=1).update(expiry_mode=Program.ExpiryMode.INACTIVITY, expiry_days=180)
    Member.objects.filter(pk=make_member(program).pk).update(last_activity_at=NOW - timedelta(days=175))

    assert expiry_reminders_send().reminders == 0
