"""Maker-checker points adjustments: small ones post at once, large ones wait for a second
staff member, and every step leaves a ledger entry and audit events."""

import pytest

from loyalty_site.staff.models import AdjustmentRequest
from loyalty_site.staff.services import (
    AdjustmentNotPending,
    NotPermitted,
    SameApprover,
    adjustment_approve,
    adjustment_reject,
    adjustment_request,
)
from members.models import AuditEvent, LedgerEntry, Program

pytestmark = pytest.mark.django_db


def actions(member) -> list[str]:
    return list(AuditEvent.objects.filter(member=member).order_by("id").values_list("action", flat=True))


def test_an_adjustment_up_to_the_threshold_posts_at_once(member, agent):
    threshold = Program.load().adjustment_approval_threshold

    request = adjustment_request(
        member_id=member.pk, points=threshold, reason="Lost receipt", requested_by=agent
    )

    request.refresh_from_db()
    assert request.status == AdjustmentRequest.Status.APPLIED
    assert not request.needs_approval and request.approved_by is None
    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.created_by, entry.description) == (
        "adjust",
        threshold,
        agent,
        "Lost receipt",
    )
    assert request.entry == entry
    member.refresh_from_db()
    assert member.points_available == threshold
    assert actions(member) == ["adjustment_requested", "points_adjusted"]


def test_a_large_adjustment_waits_for_a_second_staff_member(member, manager, second_manager):
    points = Program.load().adjustment_approval_threshold + 1

    request = adjustment_request(member_id=member.pk, points=points, reason="Goodwill", requested_by=manager)

    assert request.status == AdjustmentRequest.Status.PENDING and request.needs_approval
    assert not LedgerEntry.objects.filter(member=member).exists()
    member.refresh_from_db()
    assert member.points_available == 0

    with pytest.raises(SameApprover):
        adjustment_approve(request_id=request.pk, approver=manager)
    assert not LedgerEntry.objects.filter(member=member).exists()

    adjustment_approve(request_id=request.pk, approver=second_manager)

    request.refresh_from_db()
    assert request.status == AdjustmentRequest.Status.APPLIED
    assert (request.requested_by, request.approved_by) == (manager, second_manager)
    entry = LedgerEntry.objects.get(member=member)
    assert (entry.points, entry.created_by, entry.idempotency_key) == (
        points,
        second_manager,
        f"adjustment-request:{request.pk}",
    )
    member.refresh_from_db()
    assert member.points_available == points
    approval = AuditEvent.objects.get(action="adjustment_approved")
    assert approval.actor == second_manager
    assert approval.details == {
        "request": request.pk,
        "points": points,
        "requested_by": manager.pk,
        "entry": entry.pk,
    }
    assert actions(member) == ["adjustment_requested", "points_adjusted", "adjustment_approved"]

    with pytest.raises(AdjustmentNotPending):
        adjustment_approve(request_id=request.pk, approver=second_manager)
    assert LedgerEntry.objects.filter(member=member).count() == 1


def test_the_database_refuses_an_approver_who_requested(member, manager):
    request = adjustment_request(member_id=member.pk, points=5000, reason="Goodwill", requested_by=manager)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        AdjustmentRequest.objects.filter(pk=request.pk).update(approved_by=manager)


def test_a_support_agent_may_not_request_or_approve_a_large_adjustment(member, agent, manager):
    with pytest.raises(NotPermitted):
        adjustment_request(member_id=member.pk, points=-5000, reason="Fraud", requested_by=agent)
    assert not AdjustmentRequest.objects.exists()

    request = adjustment_request(member_id=member.pk, points=5000, reason="Goodwill", requested_by=manager)
    with pytest.raises(NotPermitted):
        adjustment_approve(request_id=request.pk, approver=agent)
    request.refresh_from_db()
    assert request.status == AdjustmentRequest.Status.PENDING


def test_a_rejected_adjustment_never_reaches_the_ledger(member, manager, second_manager):
    request = adjustment_request(member_id=member.pk, points=2500, reason="Typo", requested_by=manager)

    adjustment_reject(request_id=request.pk, approver=second_manager, note="Not justified")

    request.refresh_from_db()
    assert (request.status, request.approved_by, request.decision_note) == (
        "rejected",
        second_manager,
        "Not justified",
    )
    assert not LedgerEntry.objects.exists()
    assert actions(member) == ["adjustment_requested", "adjustment_rejected"]


def test_a_negative_adjustment_larger_than_the_balance_is_refused_and_leaves_nothing(member, agent):
    from members.errors import InsufficientPoints

    with pytest.raises(InsufficientPoints):
        adjustment_request(member_id=member.pk, points=-10, reason="Correction", requested_by=agent)

    assert not AdjustmentRequest.objects.exists()
    assert not AuditEvent.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_approvers_at_once_post_the_adjustment_once(threads, program):
    from django.contrib.auth.models import Group

    from loyalty_site.staff.roles import PROGRAM_MANAGER
    from tests import factories

    group = Group.objects.get(name=PROGRAM_MANAGER)
    maker, *checkers = [factories.UserFactory(email=f"pm{i}@example.org", is_staff=True) for i in range(3)]
    for user in (maker, *checkers):
        user.groups.add(group)
    member = factories.MemberFactory()
    request = adjustment_request(member_id=member.pk, points=2000, reason="Goodwill", requested_by=maker)

    results = threads(2, lambda i: adjustment_approve(request_id=request.pk, approver=checkers[i]))

    assert sum(isinstance(r, AdjustmentRequest) for r in results) == 1
    assert sum(isinstance(r, AdjustmentNotPending) for r in results) == 1
    assert LedgerEntry.objects.filter(member=member).count() == 1
    member.refresh_from_db()
    assert member.points_available == 2000
    assert AuditEvent.objects.filter(action="adjustment_approved").count() == 1


def test_past_the_daily_cap_an_agents_adjustments_wait_for_approval(member, agent, manager):
    """Given a cap of 2,500 points in any 24 hours and a threshold of 1,000: two adjustments of
    1,000 post at once, a third (2,000 + 1,000 > 2,500) waits, and a day later one posts again.
    Removed points count too."""
    from datetime import timedelta

    from django.utils import timezone

    Program.objects.update(adjustment_daily_cap=2500, adjustment_approval_threshold=1000)
    now = timezone.now()

    def adjust(points, by, at=now):
        return adjustment_request(member_id=member.pk, points=points, reason="r", requested_by=by, now=at)

    first, second, third = adjust(1000, agent), adjust(-1000, agent), adjust(1000, agent)
    other_staff = adjust(1000, manager)
    next_day = adjust(1000, agent, at=now + timedelta(hours=24, seconds=1))

    statuses = [r.status for r in (first, second, third, other_staff, next_day)]
    assert statuses == ["applied", "applied", "pending", "applied", "applied"]
    assert third.needs_approval
    assert LedgerEntry.objects.filter(member=member).count() == 4
    audit = AuditEvent.objects.filter(action="adjustment_requested").order_by("id")[2]
    assert (audit.details["posted_in_24_hours"], audit.details["daily_cap"]) == (2000, 2500)
    adjustment_approve(request_id=third.pk, approver=manager)
    assert LedgerEntry.objects.filter(member=member).count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_agents_adjustments_at_once_cannot_both_fit_under_the_cap(threads, program):
    from django.contrib.auth.models import Group

    from loyalty_site.staff.roles import SUPPORT_AGENT
    from tests import factories

    Program.objects.update(adjustment_daily_cap=1500, adjustment_approval_threshold=1000)
    agent = factories.UserFactory(email="agent@example.org", is_staff=True)
    agent.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    member = factories.MemberFactory()

    results = threads(
        2, lambda i: adjustment_request(member_id=member.pk, points=1000, reason=f"r{i}", requested_by=agent)
    )

    assert sorted(r.status for r in results) == ["applied", "pending"]
    assert LedgerEntry.objects.filter(member=member).count() == 1
