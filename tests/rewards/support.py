"""Helpers shared by the rewards tests and the rewards API tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from members.ledger.services import points_credit
from members.models import LedgerEntry, LotAllocation, Member, PointLot, Tier
from rewards.models import Redemption, Reward


def fund(
    member: Member, points: int, key: str, *, expires_in_days: int = 365, now: datetime | None = None
) -> PointLot:
    """Give ``member`` ``points`` available now, in a lot expiring ``expires_in_days`` from now
    (the program's rolling expiry counts from the earning date)."""
    now = now or timezone.now()
    earned_at = now + timedelta(days=expires_in_days - 365)
    posting = points_credit(
        member_id=member.pk,
        points=points,
        idempotency_key=key,
        source_type=LedgerEntry.Source.PURCHASE,
        source_id=key,
        earned_at=earned_at,
        now=now,
    )
    return posting.entry.lot


def make_reward(code: str, **fields) -> Reward:
    fields.setdefault("name", code.replace("-", " ").title())
    fields.setdefault("kind", Reward.Kind.FIXED_VOUCHER)
    fields.setdefault("points_cost", 100)
    if isinstance(fields.get("min_tier"), str):
        fields["min_tier"] = Tier.objects.get(code=fields["min_tier"])
    return Reward.objects.create(code=code, **fields)


def set_tier(member: Member, code: str) -> Member:
    member.tier = Tier.objects.get(code=code)
    Member.objects.filter(pk=member.pk).update(tier=member.tier)
    return member


def balances(member: Member) -> tuple[int, int]:
    member.refresh_from_db()
    return member.points_available, member.points_pending


def lot_remaining(*lots: PointLot) -> list[int]:
    return [PointLot.objects.get(pk=lot.pk).remaining for lot in lots]


def taken_from(redemption: Redemption) -> dict[int, int]:
    """Lot id -> points the redemption's debit took from it."""
    return dict(
        LotAllocation.objects.filter(
            entry__source_type=LedgerEntry.Source.REDEMPTION,
            entry__source_id=str(redemption.pk),
            points__gt=0,
        ).values_list("lot_id", "points")
    )
