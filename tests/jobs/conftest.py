"""Helpers for the job tests: purchases and lots at chosen dates, and a snapshot of everything
the jobs write so two runs can be compared row for row."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from campaigns.models import SegmentMember
from members.ledger.services import points_credit
from members.models import (
    ExpiryReminder,
    LedgerEntry,
    LotAllocation,
    Member,
    PointLot,
    Purchase,
    Tier,
    TierChange,
)
from tests import factories

NOW = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
_external_ids = itertools.count(1)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def tier(code: str) -> Tier:
    return Tier.objects.get(code=code)


def make_member(program, *, code: str = "bronze", held_days: int | None = 100, **fields) -> Member:
    """A member on tier ``code`` whose hold ends ``held_days`` from NOW (negative: ended)."""
    return factories.MemberFactory(
        tier=tier(code),
        tier_achieved_at=NOW - timedelta(days=200),
        tier_held_until=None if held_days is None else NOW + timedelta(days=held_days),
        **fields,
    )


def buy(member: Member, amount: str | Decimal, *, days_ago: int = 10, refunded: str = "0") -> Purchase:
    purchased_at = NOW - timedelta(days=days_ago)
    return Purchase.objects.create(
        member=member,
        store=factories.StoreFactory(code="main", name="Main"),
        external_id=f"p-{next(_external_ids)}",
        amount=Decimal(amount),
        currency="USD",
        purchased_at=purchased_at,
        available_at=purchased_at + timedelta(days=14),
        refunded_amount=Decimal(refunded),
    )


def earn(member: Member, points: int, *, days_ago: int, pending_days: int = 0, key: str | None = None):
    earned_at = NOW - timedelta(days=days_ago)
    return points_credit(
        member_id=member.pk,
        points=points,
        idempotency_key=key or f"earn-{next(_external_ids)}",
        source_type=LedgerEntry.Source.PURCHASE,
        source_id=key or "",
        earned_at=earned_at,
        available_at=earned_at + timedelta(days=pending_days),
        now=earned_at,
    )


def snapshot() -> dict:
    """Every row the jobs write, without ids that depend on insertion order or keys that carry a
    per-run token."""
    return {
        "members": list(
            Member.objects.order_by("pk").values_list(
                "pk", "tier_id", "tier_achieved_at", "tier_held_until", "points_available", "points_pending"
            )
        ),
        "entries": sorted(
            LedgerEntry.objects.values_list(
                "member_id", "kind", "points", "balance_after", "source_type", "created_at"
            )
        ),
        "lots": list(PointLot.objects.order_by("pk").values_list("pk", "remaining", "is_pending")),
        "allocations": sorted(
            LotAllocation.objects.values_list("entry__member_id", "entry__kind", "lot_id", "points")
        ),
        "tier_changes": sorted(
            TierChange.objects.values_list("member_id", "from_tier_id", "to_tier_id", "reason", "created_at")
        ),
        "reminders": sorted(ExpiryReminder.objects.values_list("member_id", "expires_on", "points")),
        "segments": sorted(SegmentMember.objects.values_list("segment_id", "member_id", "added_at")),
    }
