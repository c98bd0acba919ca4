"""Tier qualification: what a member's qualifying value is over the program's window, which
tier it reaches, and the immediate upgrade when a purchase crosses a threshold. The nightly tier
job (set-based) applies the same rules to everyone."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from . import config
from .models import TIER_QUALIFYING_KINDS, TIER_QUALIFYING_SOURCES, Member, Program, Tier, TierChange
from .statements import hot_cursor
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
            f" AND {tier_qualifying_entries_sql()})"
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
    notify: bool = True,
    value: Decimal | None = None,
) -> TierChange | None:
    """Move ``member`` (locked by the caller) up at once when their qualifying value (read now
    unless the caller knows it) reaches a higher tier, and mail them after commit (as the
    nightly job does for its moves). Never moves down: downgrades wait for the hold to end and
    the nightly job. The thresholds are the tiers kept per process."""
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
    event_record(type="tier.changed", member_id=member.pk, data=payloads.tier_changed(member, change, target))
    member.tier = target
    member.tier_achieved_at = now
    member.tier_held_until = now + timedelta(days=program.tier_hold_days)
    Member.objects.filter(pk=member.pk).update(
        tier=target, tier_achieved_at=now, tier_held_until=member.tier_held_until
    )
    # A backdated upgrade (a bulk import of old sales, the demo's history) is not news to mail.
    if notify and now >= timezone.now() - timedelta(days=1):
        from .tasks import tier_changes_notify_task

        def send() -> None:
            tier_changes_notify_task.delay([change.pk])

        # robust: the upgrade stands whatever happens to the broker.
        transaction.on_commit(send, robust=True)
    return change


def next_tier(member: Member) -> Tier | None:
    tiers = config.tiers()
    return tiers.above(tiers.get(member.tier_id))


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
