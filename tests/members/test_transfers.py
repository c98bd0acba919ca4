"""Transfers between members: the two sides in the ledger, the expiry the points keep, the
monthly limit, idempotency, the recipient found by number and surname, the mail after commit,
and the staff reversal (audited; a recorded negative when the receiver already spent)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from members.errors import IdempotencyConflict, InsufficientPoints, InvalidRequest, MemberInactive
from members.ledger.invariants import ledger_violations
from members.ledger.services import points_credit, points_debit
from members.models import AuditEvent, LedgerEntry, Member, PointLot, Program, Transfer
from members.transfers import (
    RecipientNotFound,
    TransferLimitReached,
    transfer_recipient_find,
    transfer_reverse,
    transfer_send,
)
from tests import factories

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
Source = LedgerEntry.Source


@pytest.fixture(autouse=True)
def _frozen_and_clean(program):
    with time_machine.travel(NOW, tick=False):
        yield
    assert ledger_violations() == []


def credit(member: Member, points: int, *, days_ago: int, key: str) -> None:
    earned = NOW - timedelta(days=days_ago)
    points_credit(
        member_id=member.pk,
        points=points,
        idempotency_key=key,
        source_type=Source.SYSTEM,
        earned_at=earned,
        now=earned,
    )


def balances(member: Member) -> tuple[int, int]:
    member.refresh_from_db()
    return member.points_available, member.points_pending


def send(sender, recipient, points, key="t-1", **extra):
    return transfer_send(
        sender_id=sender.pk, recipient_id=recipient.pk, points=points, idempotency_key=key, **extra
    )


def test_a_transfer_moves_points_soonest_expiring_first_and_they_keep_their_expiry(
    member, django_capture_on_commit_callbacks, mailoutbox
):
    receiver = factories.MemberFactory(last_name="Osei")
    credit(member, 100, days_ago=300, key="old")  # expires in 65 days
    credit(member, 100, days_ago=10, key="new")  # expires in 355 days

    with django_capture_on_commit_callbacks(execute=True):
        outcome = send(member, receiver, 150, message="For the coffee")

    assert outcome.created
    assert balances(member) == (50, 0) and balances(receiver) == (150, 0)
    out = LedgerEntry.objects.get(member=member, kind="transfer")
    assert (out.points, out.source_type, out.source_id) == (-150, "transfer", str(outcome.transfer.pk))
    received = sorted(PointLot.objects.filter(member=receiver).values_list("points", "expires_at"))
    assert received == sorted(
        [
            (100, NOW - timedelta(days=300) + timedelta(days=365)),
            (50, NOW - timedelta(days=10) + timedelta(days=365)),
        ]
    )
    assert LedgerEntry.objects.filter(member=receiver, kind="transfer", points__gt=0).count() == 2
    assert [m.to for m in mailoutbox] == [[receiver.email]]
    assert "150 points" in mailoutbox[0].subject
    assert AuditEvent.objects.get(action="points_transferred").member_id == member.pk


def test_a_replay_sends_once_and_the_same_key_for_another_transfer_is_refused(member):
    receiver = factories.MemberFactory()
    credit(member, 500, days_ago=1, key="seed")

    first = send(member, receiver, 100)
    again = send(member, receiver, 100)

    assert (first.created, again.created, again.transfer.pk) == (True, False, first.transfer.pk)
    assert balances(receiver) == (100, 0)
    with pytest.raises(IdempotencyConflict):
        send(member, receiver, 200)


def test_no_more_than_the_available_points(member):
    receiver = factories.MemberFactory()
    credit(member, 100, days_ago=1, key="seed")

    with pytest.raises(InsufficientPoints):
        send(member, receiver, 101)

    assert balances(member) == (100, 0) and not Transfer.objects.exists()


def test_the_monthly_limit_counts_this_months_transfers(member):
    Program.objects.update(transfer_monthly_limit=1000)
    receiver = factories.MemberFactory()
    credit(member, 5000, days_ago=1, key="seed")
    send(member, receiver, 600, key="a")

    with pytest.raises(TransferLimitReached):
        send(member, receiver, 401, key="b")
    send(member, receiver, 400, key="c")

    with time_machine.travel(datetime(2026, 4, 1, 8, 0, tzinfo=UTC), tick=False):
        send(member, receiver, 1000, key="d")  # a new month
    assert balances(receiver)[0] == 2000


def test_the_default_monthly_limit_is_5000(program):
    assert program.transfer_monthly_limit == 5000


@pytest.mark.parametrize("points", [0, -5, True, "10", 1.5])
def test_bad_points_are_refused(member, points):
    receiver = factories.MemberFactory()
    credit(member, 100, days_ago=1, key="seed")
    with pytest.raises(InvalidRequest):
        send(member, receiver, points)
    assert not Transfer.objects.exists()


def test_not_to_oneself_and_not_to_a_closed_member(member):
    credit(member, 100, days_ago=1, key="seed")
    with pytest.raises(InvalidRequest):
        send(member, member, 10)
    closed = factories.MemberFactory(status=Member.Status.CLOSED)
    with pytest.raises(MemberInactive):
        send(member, closed, 10)
    assert balances(member) == (100, 0)


def test_the_recipient_is_found_by_number_and_surname_in_any_case():
    receiver = factories.MemberFactory(last_name="Lindqvist")

    assert transfer_recipient_find(member_number=receiver.member_number, last_name=" lindqvist ") == receiver
    for number, surname in [(receiver.member_number, "Lind"), ("0000", "Lindqvist"), ("", ""), ("\x00", "x")]:
        with pytest.raises(RecipientNotFound):
            transfer_recipient_find(member_number=number, last_name=surname)


def test_points_received_pay_a_receivers_debt_first(member):
    receiver = factories.MemberFactory()
    points_credit(
        member_id=receiver.pk,
        points=100,
        idempotency_key="r-buy",
        source_type=Source.PURCHASE,
        source_id="p1",
    )
    points_debit(member_id=receiver.pk, points=100, idempotency_key="r-spend", source_type=Source.REDEMPTION)
    from members.ledger.services import points_reverse

    points_reverse(
        member_id=receiver.pk, source_type=Source.PURCHASE, source_id="p1", idempotency_key="r-rev"
    )
    assert balances(receiver) == (-100, 0)
    credit(member, 300, days_ago=1, key="seed")

    send(member, receiver, 250)

    assert balances(receiver) == (150, 0)


def test_staff_reverse_a_transfer_the_points_go_back_with_their_expiry_and_it_is_audited(member, staff_user):
    receiver = factories.MemberFactory()
    credit(member, 200, days_ago=300, key="old")
    transfer = send(member, receiver, 150).transfer
    old_lot = PointLot.objects.get(member=member)

    transfer_reverse(transfer_id=transfer.pk, staff_user=staff_user, reason="Sent by mistake")
    again = transfer_reverse(transfer_id=transfer.pk, staff_user=staff_user, reason="twice")

    assert balances(member) == (200, 0) and balances(receiver) == (0, 0)
    old_lot.refresh_from_db()
    assert old_lot.remaining == 200  # back in the lot it left, with its expiry
    assert again.reversed_by == staff_user and again.reversal_reason == "Sent by mistake"
    event = AuditEvent.objects.get(action="transfer_reversed")
    assert (event.actor, event.details["points"]) == (staff_user, 150)


def test_reversing_what_the_receiver_spent_leaves_a_recorded_negative(member, staff_user):
    receiver = factories.MemberFactory()
    credit(member, 200, days_ago=1, key="seed")
    transfer = send(member, receiver, 200).transfer
    points_debit(member_id=receiver.pk, points=150, idempotency_key="spent", source_type=Source.REDEMPTION)

    transfer_reverse(transfer_id=transfer.pk, staff_user=staff_user, reason="Stolen account")

    assert balances(receiver) == (-150, 0)
    assert balances(member) == (200, 0)


def test_only_staff_reverse(member):
    receiver = factories.MemberFactory()
    credit(member, 200, days_ago=1, key="seed")
    transfer = send(member, receiver, 20).transfer
    with pytest.raises(InvalidRequest):
        transfer_reverse(transfer_id=transfer.pk, staff_user=factories.UserFactory(), reason="x")
    with pytest.raises(InvalidRequest):
        transfer_reverse(transfer_id=transfer.pk, staff_user=factories.UserFactory(is_staff=True), reason=" ")
