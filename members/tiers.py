"""Tier qualification: what a member's qualifying value is over the program's window, which
tier it reaches, and the immediate upgrade when a purchase crosses a threshold. The nightly tier
job (set-based) applies the same rules to everyone."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from . import config
from .models import Member, Program, Tier, TierChange
from .statements import hot_cursor


def qualification_window_start(program: Program, as_of: datetime) -> datetime:
    if program.tier_window == Program.TierWindow.CALENDAR:
        return as_of.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return as_of - timedelta(days=365)


def qualifying_value(
    member: Member, *, as_of: datetime | None = None, program: Program | None = None
) -> Decimal:
    """Qualifying spend (purchases less refunds) or points earned, over the program's window."""
    program = program or config.program()
    sql, params = qualifying_value_sql(program, as_of=as_of or timezone.now(), member="%(member)s")
    with hot_cursor() as cursor:
        cursor.execute(f"SELECT {sql}", {"member": member.pk, **params})
        return money_from_db(cursor.fetchone()[0])


def qualifying_value_sql(
    program: Program, *, as_of: datetime, member: str, name: str = "qualifying"
) -> tuple[str, dict]:
    """``qualifying_value`` as a scalar SQL expression, with its named parameters (``name`` and
    a suffix), for the member whose id is the SQL expression ``member`` (a column, or a
    parameter of the caller)."""
    window = {
        f"{name}_start": connection.ops.adapt_datetimefield_value(qualification_window_start(program, as_of)),
        f"{name}_end": connection.ops.adapt_datetimefield_value(as_of),
    }
    if program.tier_metric == Program.TierMetric.POINTS:
        sql = (
            "(SELECT COALESCE(SUM(points), 0) FROM members_ledgerentry WHERE member_id = "
            f"{member} AND created_at > %({name}_start)s AND created_at <= %({name}_end)s"
            " AND kind IN ('earn', 'bonus', 'reversal') AND source_type IN ('purchase', 'campaign'))"
        )
    else:
        sql = (
            "(SELECT COALESCE(SUM(amount - refunded_amount), 0) FROM members_purchase WHERE member_id = "
            f"{member} AND purchased_at > %({name}_start)s AND purchased_at <= %({name}_end)s)"
        )
    return sql, window


def money_from_db(value: object) -> Decimal:
    """A sum of amounts as raw SQL returns it (SQLite sums decimals as floats)."""
    if isinstance(value, float):
        return Decimal(repr(value)).quantize(Decimal("0.01"))
    return Decimal(value or 0)


def tier_upgrade_if_qualified(
    member: Member,
    *,
    now: datetime | None = None,
    reason: str = TierChange.Reason.PURCHASE,
    value: Decimal | None = None,
) -> TierChange | None:
    """Move ``member`` (locked by the caller) up at once when their qualifying value (read now
    unless the caller knows it) reaches a higher tier. Never moves down: downgrades wait for the
    hold to end and the nightly job. The thresholds are the tiers kept per process."""
    now = now or timezone.now()
    program = config.program()
    tiers = config.tiers()
    current = tiers.get(member.tier_id)
    if tiers.above(current) is None:
        return None  # on the top tier already
    if value is None:
        value = qualifying_value(member, as_of=now, program=program)
    target = tiers.for_value(value)
    current_rank = current.rank if current else -1
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
    member.tier = target
    member.tier_achieved_at = now
    member.tier_held_until = now + timedelta(days=program.tier_hold_days)
    Member.objects.filter(pk=member.pk).update(
        tier=target, tier_achieved_at=now, tier_held_until=member.tier_held_until
    )
    return change


def next_tier(member: Member) -> Tier | None:
    tiers = config.tiers()
    return tiers.above(tiers.get(member.tier_id))


def tier_moves_preview(
    *,
    thresholds: dict[str, Decimal],
    multipliers: dict[str, Decimal] | None = None,
    as_of: datetime | None = None,
) -> dict:
    """What the nightly tier job would do with draft thresholds (and multipliers): counts of
    members per tier that would move up, down or stay. See ``members.jobs.tiers``."""
    from .jobs.tiers import tier_moves_preview as preview

    return preview(thresholds=thresholds, multipliers=multipliers, as_of=as_of)
