"""Paid memberships and transfers under real concurrency on PostgreSQL: one sale however many
tills send it, one running membership of a plan, transfers racing each other (both ways, so a
lock order mistake would deadlock) and a redemption, never below zero, never credited twice."""

from __future__ import annotations

import pytest

from members.errors import InsufficientPoints
from members.ledger.invariants import ledger_violations
from members.ledger.services import points_credit, points_debit
from members.memberships import MembershipActive, membership_start
from members.models import LedgerEntry, Member, Membership, TierChange, Transfer
from members.transfers import TransferLimitReached, transfer_send
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Source = LedgerEntry.Source


def sell(member: Member, external_id: str):
    return membership_start(
        store=None, member_number=member.member_number, plan_code="plus", external_id=external_id
    )


def test_ten_tills_sending_one_sale_start_one_membership(member, threads):
    results = threads(10, lambda i: sell(member, "M-1"))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.created for r in results) == 1
    assert len({r.membership.pk for r in results}) == 1
    assert Membership.objects.count() == 1
    assert TierChange.objects.filter(member=member, reason=TierChange.Reason.MEMBERSHIP).count() == 1
    member.refresh_from_db()
    assert member.tier.code == "gold"


def test_ten_different_sales_of_one_plan_start_one_membership(member, threads):
    results = threads(10, lambda i: sell(member, f"M-{i}"))

    created = [r for r in results if not isinstance(r, Exception)]
    assert len(created) == 1
    assert all(isinstance(r, MembershipActive) for r in results if isinstance(r, Exception)), results
    assert Membership.objects.filter(status="active").count() == 1


def test_transfers_both_ways_and_a_redemption_racing_never_overdraw_nor_deadlock(program, threads):
    alice, bob = factories.MemberFactory(), factories.MemberFactory()
    for who in (alice, bob):
        for i in range(3):
            points_credit(
                member_id=who.pk, points=100, idempotency_key=f"seed-{who.pk}-{i}", source_type=Source.SYSTEM
            )

    def act(i: int):
        if i % 5 == 4:
            return points_debit(
                member_id=alice.pk, points=120, idempotency_key=f"redeem-{i}", source_type=Source.REDEMPTION
            )
        sender, recipient = (alice, bob) if i % 2 else (bob, alice)
        return transfer_send(
            sender_id=sender.pk, recipient_id=recipient.pk, points=70, idempotency_key=f"t-{i}"
        )

    results = threads(20, act)

    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientPoints)]
    assert unexpected == []
    for who in (alice, bob):
        who.refresh_from_db()
        assert who.points_available >= 0
    alice.refresh_from_db()
    bob.refresh_from_db()
    redeemed = LedgerEntry.objects.filter(kind="redeem").count() * 120
    assert alice.points_available + bob.points_available == 600 - redeemed
    assert ledger_violations() == []


def test_one_transfer_sent_from_many_tabs_is_credited_once(program, threads):
    alice, bob = factories.MemberFactory(), factories.MemberFactory()
    points_credit(member_id=alice.pk, points=500, idempotency_key="seed", source_type=Source.SYSTEM)

    results = threads(
        8,
        lambda i: transfer_send(
            sender_id=alice.pk, recipient_id=bob.pk, points=300, idempotency_key="confirm-1"
        ),
    )

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.created for r in results) == 1
    bob.refresh_from_db()
    assert bob.points_available == 300 and Transfer.objects.count() == 1
    assert ledger_violations() == []


def test_racing_transfers_never_pass_the_monthly_limit(program, threads):
    alice = factories.MemberFactory()
    points_credit(member_id=alice.pk, points=20000, idempotency_key="seed", source_type=Source.SYSTEM)
    others = factories.MemberFactory.create_batch(4)

    results = threads(
        12,
        lambda i: transfer_send(
            sender_id=alice.pk, recipient_id=others[i % 4].pk, points=1000, idempotency_key=f"t-{i}"
        ),
    )

    assert sum(1 for r in results if not isinstance(r, Exception)) == 5
    assert all(isinstance(r, TransferLimitReached) for r in results if isinstance(r, Exception))
    alice.refresh_from_db()
    assert alice.points_available == 15000
    assert ledger_violations() == []
