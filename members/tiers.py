"""Tier qualification: what a member's qualifying value is over the program's window, which
tier it reaches, and the immediate upgrade when a purchase crosses a threshold. The nightly tier
job (set-based) applies the same rules to everyone."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import F, Q, Sum
from django.utils import timezone

from .models import (
    TIER_QUALIFYING_KINDS,
    TIER_QUALIFYING_SOURCES,
    LedgerEntry,
    Member,
    Program,
    Purchase,
    Tier,
    TierChange,
)
from .webhooks import event_record, payloads


def qualification_window_start(program: Program, as_of: datetime) -> datetime:
    if program.tier_window == Program.TierWindow.CALENDAR:
        return as_of.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return as_of - timedelta(days=365)


def tier_qualifying_entries() -> Q:
    """The ledger entries that count toward the points metric, as a filter."""
    return Q(kind__in=TIER_QUALIFYING_KINDS, source_type__in=TIER_QUALIFYING_SOURCES)


def tier_qualifying_entries_sql(alias: str = "") -> str:
    """The same filter in SQL, on ``members_ledgerentry`` (or its alias ``alias``)."""
    prefix = f"{alias}." if alias else ""
    kinds = ", ".join(f"'{kind}'" for kind in TIER_QUALIFYING_KINDS)
    sources = ", ".join(f"'{source}'" for source in TIER_QUALIFYING_SOURCES)
    return f"{prefix}kind IN ({kinds}) AND {prefix}source_type IN ({sources})"


def qualifying_value(
    member: Member, *, as_of: datetime | None = None, program: Program | None = None
) -> Decimal:
    """Qualifying spend (purchases less refunds) or points earned, over the program's window."""
    as_of = as_of or timezone.now()
    program = program or Program.load()
    start = qualification_window_start(program, as_of)
    if program.tier_metric == Program.TierMetric.POINTS:
        earned = LedgerEntry.objects.filter(
            tier_qualifying_entries(), member=member, created_at__gt=start, created_at__lte=as_of
        ).aggregate(total=Sum("points"))["total"]
        return Decimal(earned or 0)
    spend = Purchase.objects.filter(member=member, purchased_at__gt=start, purchased_at__lte=as_of).aggregate(
        total=Sum(F("amount") - F("refunded_amount"))
    )["total"]
    return spend or Decimal("0")


def tier_upgrade_if_qualified(
    member: Member, *, now: datetime | None = None, reason: str = TierChange.Reason.PURCHASE
) -> TierChange | None:
    """Move ``member`` (locked by the caller) up at once when their qualifying value reaches a
    higher tier. Never moves down: downgrades wait for the hold to end and the nightly job."""
    now = now or timezone.now()
    program = Program.load()
    value = qualifying_value(member, as_of=now, program=program)
    target = Tier.objects.for_value(value)
    current_rank = member.tier.rank if member.tier_id else -1
    if target is None or target.rank <= current_rank:
        return None
    change = TierChange.objects.create(
        member=member,
        from_tier_id=member.tier_id,
        to_tier=target,
        reason=reason,
        qualifying_value=value,
        created_at=now,
    )
    event_record(type="tier.changed", member_id=member.pk, data=payloads.tier_changed(member, change, target))
    member.tier = target
    member.tier_achieved_at = now
    member.tier_held_until = now + timedelta(days=program.tier_hold_days)
    Member.objects.filter(pk=member.pk).update(
        tier=target, tier_achieved_at=now, tier_held_until=member.tier_held_until
    )
    return change


def next_tier(member: Member) -> Tier | None:
    rank = member.tier.rank if member.tier_id else -1
    return Tier.objects.filter(rank__gt=rank).order_by("rank").first()


def tier_id_at_sql(*, member_id: str, moment: str, current_tier_id: str) -> str:
    """SQL for the id of the tier a member was on just before ``moment`` (SQL expressions of the
    member's id, the moment and their tier now), read from the ``TierChange`` history: the tier
    the last earlier move went to; else the tier the first later move left (a move at the very
    moment counts as later: a purchase earns at the tier it finds, then upgrades); else, never
    moved, the tier they are on now. NULL when they were on none."""
    changes = f"FROM members_tierchange tc WHERE tc.member_id = {member_id}"
    return (
        "COALESCE("
        f"(SELECT tc.to_tier_id {changes} AND tc.created_at < {moment} "
        "ORDER BY tc.created_at DESC, tc.id DESC LIMIT 1), "
        f"CASE WHEN EXISTS (SELECT 1 {changes} AND tc.created_at >= {moment}) "
        f"THEN (SELECT tc.from_tier_id {changes} AND tc.created_at >= {moment} "
        "ORDER BY tc.created_at, tc.id LIMIT 1) "
        f"ELSE {current_tier_id} END)"
    )
