"""The ledger services: credit, debit, reverse, restore, adjust, and what each refuses."""

from datetime import timedelta

import pytest
from django.utils import timezone

from members.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidPoints,
    InvalidRequest,
    MemberInactive,
    MemberNotFound,
    NothingToReverse,
)
from members.jobs import expire_points, release_pending_points
from members.ledger.invariants import ledger_violations
from members.ledger.services import (
    points_adjust,
    points_credit,
    points_debit,
    points_restore,
    points_reverse,
)
from members.models import AuditEvent, LedgerEntry, LotAllocation, Member, PointLot

Kind = LedgerEntry.Kind
Source = LedgerEntry.Source
NOW = timezone.now().replace(microsecond=0)


def credit(member, points, key, *, pending_days=0, source_id=None, earned_at=None, now=NOW):
    return points_credit(
        member_id=member.pk,
        points=points,
        idempotency_key=key,
        source_type=Source.PURCHASE,
        source_id=source_id or key,
        available_at=now + timedelta(days=pending_days),
        earned_at=earned_at,
        now=now,
    )


def debit(member, points, key, now=NOW):
    return points_debit(
        member_id=member.pk,
        points=points,
        idempotency_key=key,
        source_type=Source.REDEMPTION,
        source_id=key,
        now=now,
    )


def refresh(member) -> Member:
    member.refresh_from_db()
    return member


def ledger_rows() -> tuple[int, int, int]:
    return LedgerEntry.objects.count(), PointLot.objects.count(), LotAllocation.objects.count()


def test_credit_opens_a_lot_pending_until_the_return_window_closes(member):
    posting = credit(member, 120, "p1", pending_days=14)

    assert posting.created
    lot = posting.entry.lot
    assert (lot.points, lot.remaining, lot.is_pending) == (120, 120, True)
    assert lot.expires_at == NOW + timedelta(days=365)
    member = refresh(member)
    assert (member.points_available, member.points_pending) == (0, 120)
    assert posting.entry.balance_after == 120


def test_credit_with_the_same_key_twice_credits_once(member):
    first = credit(member, 50, "same")
    second = credit(member, 50, "same")

    assert first.created and not second.created
    assert second.entry.pk == first.entry.pk
    assert refresh(member).points_available == 50
    assert LedgerEntry.objects.filter(member=member).count() == 1


def test_same_key_with_a_different_amount_is_refused_and_writes_nothing(member):
    credit(member, 50, "k")
    before = ledger_rows()

    with pytest.raises(IdempotencyConflict):
        credit(member, 60, "k")

    assert ledger_rows() == before
    assert refresh(member).points_available == 50


def test_same_key_for_another_member_is_a_conflict(member):
    other = Member.objects.create(email="other@example.org", first_name="O", tier=member.tier)
    credit(member, 50, "shared-key")

    with pytest.raises(IdempotencyConflict):
        credit(other, 50, "shared-key")
    assert refresh(other).points_available == 0


@pytest.mark.parametrize("points", [0, -5, 1.5, "10", None, True])
def test_bad_points_are_refused_before_anything_is_written(member, points):
    before = ledger_rows()
    with pytest.raises(InvalidPoints):
        points_credit(member_id=member.pk, points=points, idempotency_key="x", source_type=Source.SYSTEM)
    with pytest.raises(InvalidPoints):
        points_debit(member_id=member.pk, points=points, idempotency_key="y", source_type=Source.SYSTEM)
    assert ledger_rows() == before


@pytest.mark.parametrize("key", ["", "   ", None, "k" * 201])
def test_a_missing_or_oversized_key_is_refused(member, key):
    with pytest.raises(InvalidRequest):
        points_credit(member_id=member.pk, points=5, idempotency_key=key, source_type=Source.SYSTEM)
    assert ledger_rows() == (0, 0, 0)


def test_unknown_member_is_a_named_error(program):
    with pytest.raises(MemberNotFound):
        points_credit(member_id=999_999, points=5, idempotency_key="u", source_type=Source.SYSTEM)
    with pytest.raises(MemberNotFound):
        points_debit(member_id=999_999, points=5, idempotency_key="v", source_type=Source.SYSTEM)
    assert ledger_rows() == (0, 0, 0)


def test_debit_takes_soonest_expiring_lots_first(member):
    late = credit(member, 100, "late", earned_at=NOW)
    soon = credit(member, 100, "soon", earned_at=NOW - timedelta(days=300))

    posting = debit(member, 150, "r1")

    allocations = {a.lot_id: a.points for a in posting.entry.allocations.all()}
    assert allocations == {soon.entry.lot.pk: 100, late.entry.lot.pk: 50}
    assert refresh(member).points_available == 50
    assert posting.entry.balance_after == 50


def test_debit_never_overdraws_and_ignores_pending_points(member):
    credit(member, 100, "avail")
    credit(member, 500, "pending", pending_days=14)
    before = ledger_rows()

    with pytest.raises(InsufficientPoints):
        debit(member, 101, "too-much")

    assert ledger_rows() == before
    member = refresh(member)
    assert (member.points_available, member.points_pending) == (100, 500)


def test_debit_refused_for_a_suspended_member(member):
    credit(member, 100, "c")
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)
    with pytest.raises(MemberInactive):
        debit(member, 10, "d")


def test_reverse_takes_from_the_source_lot_first(member):
    credit(member, 100, "other")
    source = credit(member, 80, "purchase-1", pending_days=14)

    posting = points_reverse(
        member_id=member.pk,
        source_type=Source.PURCHASE,
        source_id="purchase-1",
        points=30,
        idempotency_key="refund-1",
        now=NOW,
    )

    assert posting.entry.points == -30
    assert [(a.lot_id, a.points) for a in posting.entry.allocations.all()] == [(source.entry.lot.pk, 30)]
    member = refresh(member)
    assert (member.points_available, member.points_pending) == (100, 50)


def test_reverse_more_than_is_left_is_refused(member):
    credit(member, 80, "purchase-2")
    points_reverse(
        member_id=member.pk,
        source_type=Source.PURCHASE,
        source_id="purchase-2",
        points=50,
        idempotency_key="r-a",
        now=NOW,
    )
    with pytest.raises(NothingToReverse):
        points_reverse(
            member_id=member.pk,
            source_type=Source.PURCHASE,
            source_id="purchase-2",
            points=31,
            idempotency_key="r-b",
            now=NOW,
        )
    posting = points_reverse(
        member_id=member.pk,
        source_type=Source.PURCHASE,
        source_id="purchase-2",
        idempotency_key="r-c",
        now=NOW,
    )
    assert posting.entry.points == -30


def test_reverse_after_spending_leaves_a_debt_the_next_credit_pays(member):
    credit(member, 100, "purchase-3")
    debit(member, 90, "spend")

    points_reverse(
        member_id=member.pk,
        source_type=Source.PURCHASE,
        source_id="purchase-3",
        idempotency_key="refund-3",
        now=NOW,
    )
    assert refresh(member).points_available == -90
    assert ledger_violations() == []
    with pytest.raises(InsufficientPoints):
        debit(member, 1, "while-in-debt")

    posting = credit(member, 50, "purchase-4", pending_days=14)
    member = refresh(member)
    assert (member.points_available, member.points_pending) == (-40, 0)
    assert posting.entry.lot.remaining == 0

    credit(member, 100, "purchase-5", pending_days=14)
    member = refresh(member)
    assert (member.points_available, member.points_pending) == (0, 60)
    assert ledger_violations() == []


def test_restore_gives_points_back_to_the_lots_they_came_from(member):
    soon = credit(member, 100, "a", earned_at=NOW - timedelta(days=200))
    late = credit(member, 100, "b")
    debit(member, 150, "redemption-1")

    posting = points_restore(
        member_id=member.pk,
        source_type=Source.REDEMPTION,
        source_id="redemption-1",
        idempotency_key="cancel-1",
        now=NOW,
    )

    assert posting.entry.points == 150
    soon.entry.lot.refresh_from_db()
    late.entry.lot.refresh_from_db()
    assert (soon.entry.lot.remaining, late.entry.lot.remaining) == (100, 100)
    assert refresh(member).points_available == 200
    with pytest.raises(NothingToReverse):
        points_restore(
            member_id=member.pk,
            source_type=Source.REDEMPTION,
            source_id="redemption-1",
            idempotency_key="cancel-2",
            now=NOW,
        )
    again = points_restore(
        member_id=member.pk,
        source_type=Source.REDEMPTION,
        source_id="redemption-1",
        idempotency_key="cancel-1",
        now=NOW,
    )
    assert not again.created
    assert ledger_violations() == []


def test_adjust_needs_staff_and_a_reason_and_is_audited(member, staff_user):
    with pytest.raises(InvalidRequest):
        points_adjust(
            member_id=member.pk, points=10, reason=" ", staff_user=staff_user, idempotency_key="adj-0"
        )
    with pytest.raises(InvalidRequest):
        points_adjust(
            member_id=member.pk, points=10, reason="goodwill", staff_user=member.user, idempotency_key="adj-0"
        )
    with pytest.raises(InvalidPoints):
        points_adjust(
            member_id=member.pk, points=0, reason="goodwill", staff_user=staff_user, idempotency_key="adj-0"
        )
    assert ledger_rows() == (0, 0, 0)

    points_adjust(
        member_id=member.pk, points=40, reason="Goodwill", staff_user=staff_user, idempotency_key="adj-1"
    )
    points_adjust(
        member_id=member.pk, points=-15, reason="Duplicate", staff_user=staff_user, idempotency_key="adj-2"
    )
    with pytest.raises(InsufficientPoints):
        points_adjust(
            member_id=member.pk,
            points=-100,
            reason="Too much",
            staff_user=staff_user,
            idempotency_key="adj-3",
        )

    assert refresh(member).points_available == 25
    entries = LedgerEntry.objects.filter(member=member, kind=Kind.ADJUST)
    assert {e.created_by_id for e in entries} == {staff_user.pk}
    assert AuditEvent.objects.filter(member=member, action="points_adjusted").count() == 2


def test_release_makes_pending_points_available_once(member):
    credit(member, 70, "p", pending_days=14)

    assert release_pending_points(as_of=NOW + timedelta(days=13)).points == 0
    assert release_pending_points(as_of=NOW + timedelta(days=14)).points == 70
    assert release_pending_points(as_of=NOW + timedelta(days=15)).points == 0

    member = refresh(member)
    assert (member.points_available, member.points_pending) == (70, 0)
    assert ledger_violations() == []


def test_expiry_writes_one_entry_per_member_and_empties_lots(member):
    credit(member, 30, "old-1", earned_at=NOW - timedelta(days=400))
    credit(member, 20, "old-2", earned_at=NOW - timedelta(days=380))
    credit(member, 50, "new", earned_at=NOW)
    debit(member, 10, "spend")

    result = expire_points(as_of=NOW)

    assert (result.members, result.lots, result.points) == (1, 2, 40)
    expiry = LedgerEntry.objects.get(member=member, kind=Kind.EXPIRE)
    assert (expiry.points, expiry.balance_after) == (-40, 50)
    assert expire_points(as_of=NOW).lots == 0
    assert refresh(member).points_available == 50
    assert ledger_violations() == []


def test_check_ledger_names_a_member_whose_cache_is_wrong(member):
    credit(member, 10, "c")
    Member.objects.filter(pk=member.pk).update(points_available=11)

    violations = ledger_violations()

    assert [(v.member_id, v.rule) for v in violations] == [(member.pk, "balances")]


def test_points_restored_to_an_expired_lot_expire_in_a_second_run_with_the_same_as_of(member):
    earned = NOW - timedelta(days=400)
    credit(member, 50, "old-a", earned_at=earned)
    credit(member, 100, "old-b", earned_at=earned)
    debit(member, 100, "redemption-x", now=earned + timedelta(days=1))
    assert expire_points(as_of=NOW).points == 50

    points_restore(
        member_id=member.pk,
        source_type=Source.REDEMPTION,
        source_id="redemption-x",
        idempotency_key="cancel-x",
        now=NOW,
    )
    assert expire_points(as_of=NOW).points == 100

    member = refresh(member)
    assert (member.points_available, member.points_pending) == (0, 0)
    assert LedgerEntry.objects.filter(member=member, kind=Kind.EXPIRE).count() == 2
    assert ledger_violations() == []


def test_points_past_what_one_entry_or_a_balance_may_hold_are_refused(member, monkeypatch):
    from members.models import MAX_POINTS

    with pytest.raises(InvalidPoints):
        credit(member, MAX_POINTS + 1, "too-many")
    credit(member, MAX_POINTS, "the-most", pending_days=1)
    monkeypatch.setattr("members.ledger.services.MAX_BALANCE", MAX_POINTS + 10)

    with pytest.raises(InvalidPoints):
        credit(member, 11, "past-the-balance")

    credit(member, 10, "up-to-the-balance")
    assert refresh(member).points_total == MAX_POINTS + 10 > 2**32
    assert LedgerEntry.objects.filter(member=member).count() == 2
    assert ledger_violations() == []
