"""The nightly tier job and its what-if preview, both built on one set-based query that says,
for every member of an id range, which tier their qualifying value reaches and what the
program's rules do about it:

- ``up``: the value reaches a higher tier than the member has (a catch-up upgrade, or a
  re-qualification upward when the hold has ended);
- ``down``: the hold (plus the grace days) has ended and the value reaches only a lower tier;
- ``renew``: the hold has ended and the value keeps the member on their tier, which holds it
  for another ``tier_hold_days``;
- ``stay``: nothing to do (still held, or not yet due).

A paid membership sets a *floor*: while it lasts (``starts_at <= as_of < ends_at``) the target
is at least the plan's minimum tier, and a member the floor holds up is held only until the
membership ends (``floor_until``), so the first run after that end moves them to the tier their
value reaches, with no hold of the plan's tier.

A move writes a ``TierChange`` row (INSERT ... SELECT) and a mail to the member after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from ..locks import lock_members_in
from ..models import Member, Program, Tier, TierChange
from ..models_plans import membership_running_sql
from ..tiers import qualification_window_start, tier_qualifying_entries_sql
from ..webhooks.bulk import tier_changed_events_record
from .base import Counts, ScratchTable, db_datetime


@dataclass(frozen=True)
class TierResult(Counts):
    up: int = 0
    down: int = 0
    renewed: int = 0

    @property
    def rows_changed(self) -> int:
        return self.up + self.down + self.renewed


@dataclass(frozen=True)
class _Band:
    tier_id: int
    rank: int
    low: Decimal | None  # None: the lowest tier takes every value below the next threshold
    high: Decimal | None


def _bands(tiers: list[tuple[int, int, Decimal]]) -> list[_Band]:
    """Tiers as value bands ``[low, high)``, by rank. A tier whose threshold is not above a
    lower tier's never wins, as ``Tier.objects.for_value`` would not pick it either."""
    ordered = sorted(tiers, key=lambda t: t[1])
    kept: list[tuple[int, int, Decimal]] = []
    for tier in ordered:
        while kept and kept[-1][2] >= tier[2]:
            kept.pop()
        kept.append(tier)
    bands = []
    for i, (tier_id, rank, threshold) in enumerate(kept):
        high = kept[i + 1][2] if i + 1 < len(kept) else None
        bands.append(_Band(tier_id, rank, None if i == 0 else threshold, high))
    return bands


def _bands_sql(bands: list[_Band]) -> tuple[str, list[Any]]:
    rows = " UNION ALL ".join(
        "SELECT CAST(%s AS BIGINT) AS tier_id, CAST(%s AS INTEGER) AS tier_rank, "
        "CAST(%s AS NUMERIC) AS low, CAST(%s AS NUMERIC) AS high"
        for _ in bands
    )
    params: list[Any] = []
    for band in bands:
        params += [band.tier_id, band.rank, band.low, band.high]
    return rows, params


def _value_sql(
    program: Program,
    *,
    start: datetime,
    as_of: datetime,
    first_id: int,
    last_id: int,
    only_listed_in: str | None,
) -> tuple[str, list[Any]]:
    listed = f" AND member_id IN (SELECT member_id FROM {only_listed_in})" if only_listed_in else ""
    if program.tier_metric == Program.TierMetric.POINTS:
        sql = (
            "SELECT member_id, SUM(points) AS value FROM members_ledgerentry "
            "WHERE member_id BETWEEN %s AND %s AND created_at > %s AND created_at <= %s "
            f"AND {tier_qualifying_entries_sql()}{listed} "
            "GROUP BY member_id"
        )
    else:
        sql = (
            "SELECT member_id, SUM(amount - refunded_amount) AS value FROM members_purchase "
            f"WHERE member_id BETWEEN %s AND %s AND purchased_at > %s AND purchased_at <= %s{listed} "
            "GROUP BY member_id"
        )
    return sql, [first_id, last_id, db_datetime(start), db_datetime(as_of)]


def _floor_sql(*, as_of: datetime, first_id: int, last_id: int) -> tuple[str, list[Any]]:
    """Per member of the range with a paid membership running at ``as_of``: the highest minimum
    tier rank of their plans, and when the last of those memberships ends."""
    as_of_db = db_datetime(as_of)
    sql = (
        "SELECT ms.member_id, MAX(ft.rank) AS floor_rank, MAX(ms.ends_at) AS floor_until "
        "FROM members_membership ms "
        "JOIN members_membershipplan p ON p.id = ms.plan_id "
        "JOIN members_tier ft ON ft.id = p.min_tier_id "
        f"WHERE ms.member_id BETWEEN %s AND %s AND {membership_running_sql('ms', '%s')} "
        "GROUP BY ms.member_id"
    )
    return sql, [first_id, last_id, as_of_db, as_of_db]


def tier_decisions_sql(
    *,
    program: Program,
    tiers: list[tuple[int, int, Decimal]],
    as_of: datetime,
    first_id: int,
    last_id: int,
    value_factors: dict[int, Decimal] | None = None,
    only_listed_in: str | None = None,
) -> tuple[str, list[Any]]:
    """The one target-tier query: a row per member of the range with ``member_id``,
    ``from_tier_id``, ``to_tier_id``, ``value``, ``move`` (up, down, renew, stay) and
    ``hold_ended`` (1 or 0), and ``floor_until``: when a paid membership holds the member up to
    its minimum tier, the end of that membership (else NULL). ``tiers`` are
    ``(id, rank, threshold)``; ``value_factors`` scale
    the value by the member's current tier (a what-if on multipliers); ``only_listed_in``
    names a scratch table whose ``member_id`` column limits the query to those members."""
    start = qualification_window_start(program, as_of)
    value_sql, value_params = _value_sql(
        program, start=start, as_of=as_of, first_id=first_id, last_id=last_id, only_listed_in=only_listed_in
    )
    listed = f" AND m.id IN (SELECT member_id FROM {only_listed_in})" if only_listed_in else ""
    bands_sql, bands_params = _bands_sql(_bands(tiers))
    value = "COALESCE(q.value, 0)"
    factor_params: list[Any] = []
    if value_factors:
        cases = " ".join("WHEN %s THEN CAST(%s AS NUMERIC)" for _ in value_factors)
        value = f"({value} * CASE m.tier_id {cases} ELSE 1 END)"
        for tier_id, factor in value_factors.items():
            factor_params += [tier_id, factor]
    held_over = "(m.tier_held_until IS NULL OR m.tier_held_until <= %s)"
    grace_over = "(m.tier_held_until IS NULL OR m.tier_held_until <= %s)"
    as_of_db = db_datetime(as_of)
    grace_db = db_datetime(as_of - timedelta(days=program.tier_grace_days))
    floor_sql, floor_params = _floor_sql(as_of=as_of, first_id=first_id, last_id=last_id)
    floored = "d.floor_rank > b.tier_rank"  # the plan's minimum tier is above what the value reaches
    to_rank = f"(CASE WHEN {floored} THEN d.floor_rank ELSE b.tier_rank END)"
    sql = (
        "SELECT d.member_id, d.from_tier_id, "
        f"CASE WHEN {floored} THEN d.floor_tier_id ELSE b.tier_id END AS to_tier_id, d.value, "
        f"CASE WHEN {to_rank} > d.from_rank THEN 'up' "
        f"     WHEN {to_rank} < d.from_rank AND d.grace_over = 1 THEN 'down' "
        f"     WHEN {to_rank} = d.from_rank AND d.hold_ended = 1 THEN 'renew' "
        "     ELSE 'stay' END AS move, d.hold_ended, "
        f"CASE WHEN {floored} THEN d.floor_until ELSE NULL END AS floor_until "
        "FROM ("
        "  SELECT m.id AS member_id, m.tier_id AS from_tier_id, COALESCE(cur.rank, -1) AS from_rank, "
        f"  {value} AS value, "
        f"  CASE WHEN {held_over} THEN 1 ELSE 0 END AS hold_ended, "
        f"  CASE WHEN {grace_over} THEN 1 ELSE 0 END AS grace_over, "
        "  COALESCE(f.floor_rank, -1) AS floor_rank, ft.id AS floor_tier_id, f.floor_until "
        "  FROM members_member m "
        "  LEFT JOIN members_tier cur ON cur.id = m.tier_id "
        f"  LEFT JOIN ({value_sql}) q ON q.member_id = m.id "
        f"  LEFT JOIN ({floor_sql}) f ON f.member_id = m.id "
        "  LEFT JOIN members_tier ft ON ft.rank = f.floor_rank "
        f"  WHERE m.id BETWEEN %s AND %s AND m.status <> 'closed'{listed}"
        ") d "
        f"JOIN ({bands_sql}) b "
        "ON (b.low IS NULL OR d.value >= b.low) AND (b.high IS NULL OR d.value < b.high)"
    )
    params = [
        *factor_params,
        as_of_db,
        grace_db,
        *value_params,
        *floor_params,
        first_id,
        last_id,
        *bands_params,
    ]
    return sql, params


def _tiers() -> list[tuple[int, int, Decimal]]:
    return list(Tier.objects.values_list("id", "rank", "threshold"))


def tiers_recalculate_chunk(
    *, as_of: datetime, first_id: int, last_id: int, notify: bool = True, **_
) -> TierResult:
    """Apply the tier rules to the members of one id range: moves, renewed holds, history.

    The members with something to do are found first; only their rows are locked (in id
    order) and their decisions computed again under the locks, so a night where few members
    move writes to few rows, and a purchase or a second run in between is seen."""
    program = Program.load()
    tiers = _tiers()
    if not tiers:
        return TierResult()
    common = {"program": program, "tiers": tiers, "as_of": as_of, "first_id": first_id, "last_id": last_id}
    as_of_db = db_datetime(as_of)
    held_until_db = db_datetime(as_of + timedelta(days=program.tier_hold_days))
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        ScratchTable(cursor, "job_tier_members") as candidates,
        ScratchTable(cursor, "job_tier_moves") as moves,
    ):
        decisions, params = tier_decisions_sql(**common)
        if not candidates.fill(f"SELECT member_id FROM ({decisions}) x WHERE x.move <> 'stay'", params):
            return TierResult()
        lock_members_in(f"SELECT member_id FROM {candidates.name}")
        decisions, params = tier_decisions_sql(**common, only_listed_in=candidates.name)
        if not moves.fill(f"SELECT * FROM ({decisions}) x WHERE x.move <> 'stay'", params):
            return TierResult()
        cursor.execute(f"SELECT move, COUNT(*) FROM {moves.name} GROUP BY move")
        counts = dict(cursor.fetchall())
        cursor.execute(
            "INSERT INTO members_tierchange "
            "(member_id, from_tier_id, to_tier_id, reason, qualifying_value, created_at) "
            "SELECT member_id, from_tier_id, to_tier_id, "
            "CASE WHEN floor_until IS NOT NULL THEN %s WHEN hold_ended = 1 THEN %s ELSE %s END, value, %s "
            f"FROM {moves.name} WHERE move IN ('up', 'down') RETURNING id",
            [
                TierChange.Reason.MEMBERSHIP,
                TierChange.Reason.REQUALIFICATION,
                TierChange.Reason.CATCH_UP,
                as_of_db,
            ],
        )
        change_ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "UPDATE members_member SET tier_id = x.to_tier_id, "
            "tier_achieved_at = CASE WHEN x.move = 'renew' THEN members_member.tier_achieved_at "
            "ELSE %s END, tier_held_until = COALESCE(x.floor_until, %s) "
            f"FROM {moves.name} x WHERE members_member.id = x.member_id",
            [as_of_db, held_until_db],
        )
        tier_changed_events_record(moves_table=moves.name, as_of=as_of, created_at=as_of_db)
        if notify and change_ids:
            from ..tasks import tier_changes_notify_task

            transaction.on_commit(partial(tier_changes_notify_task.delay, change_ids), robust=True)
    return TierResult(up=counts.get("up", 0), down=counts.get("down", 0), renewed=counts.get("renew", 0))


def tier_moves_preview(
    *,
    thresholds: dict[str, Decimal],
    multipliers: dict[str, Decimal] | None = None,
    as_of: datetime | None = None,
) -> dict:
    """What the tier job would do tonight with draft ``thresholds`` (by tier code; tiers not
    named keep theirs): counts of members per current tier that would move up, down or stay,
    and how many would be on each tier after. With the points metric, draft ``multipliers``
    scale each member's earned points by the new over the old multiplier of their tier. Reads
    only, one statement."""
    as_of = as_of or timezone.now()
    program = Program.load()
    tier_rows = list(Tier.objects.values_list("id", "code", "rank", "threshold", "multiplier"))
    codes = {tier_id: code for tier_id, code, *_ in tier_rows}
    tiers = [
        (tier_id, rank, Decimal(thresholds.get(code, threshold)))
        for tier_id, code, rank, threshold, _ in tier_rows
    ]
    factors = None
    if multipliers and program.tier_metric == Program.TierMetric.POINTS:
        factors = {
            tier_id: Decimal(multipliers[code]) / multiplier
            for tier_id, code, _, _, multiplier in tier_rows
            if code in multipliers
        }
    result: dict[str, Any] = {
        "as_of": as_of,
        "tiers": {code: {"members": 0, "up": 0, "down": 0, "stay": 0, "after": 0} for code in codes.values()},
        "totals": {"members": 0, "up": 0, "down": 0, "stay": 0},
    }
    bounds = Member.objects.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None or not tiers:
        return result
    decisions, params = tier_decisions_sql(
        program=program,
        tiers=tiers,
        as_of=as_of,
        first_id=bounds["low"],
        last_id=bounds["high"],
        value_factors=factors,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT from_tier_id, to_tier_id, move, COUNT(*) FROM "
            f"({decisions}) x GROUP BY from_tier_id, to_tier_id, move",
            params,
        )
        rows = cursor.fetchall()
    for from_id, to_id, move, count in rows:
        move = "stay" if move in ("renew", "stay") else move
        after_id = to_id if move != "stay" else from_id
        if from_id in codes:
            bucket = result["tiers"][codes[from_id]]
            bucket["members"] += count
            bucket[move] += count
        if after_id in codes:
            result["tiers"][codes[after_id]]["after"] += count
        result["totals"]["members"] += count
        result["totals"][move] += count
    return result
