"""What a draft of tier thresholds and multipliers would do: how many members the tier job
would move up or down tonight (``members.jobs.tiers.tier_moves_preview``, the job's own
set-based query) and what it does to next month's liability.

Next month's points are projected from each member's spend over the last 30 days (less
refunds), times the base earn rate, times the multiplier of the tier they would be on after
tonight's job: once with the current tiers, once with the draft. Campaigns and rounding are left
out; both projections leave them out alike, so the difference is the draft's effect.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Max, Min

from members.jobs.base import db_datetime
from members.jobs.tiers import tier_decisions_sql, tier_moves_preview
from members.models import Member, Program, Tier

from .reports import Liability, liability, money

PROJECTION_DAYS = 30


@dataclass(frozen=True)
class TierPlanRow:
    code: str
    name: str
    threshold: Decimal
    multiplier: Decimal
    draft_threshold: Decimal
    draft_multiplier: Decimal
    members: int
    up: int
    down: int
    stay: int
    after: int
    after_now: int  # on this tier after tonight's job with the current tiers

    @property
    def changed(self) -> bool:
        return (self.threshold, self.multiplier) != (self.draft_threshold, self.draft_multiplier)


@dataclass(frozen=True)
class WhatIf:
    rows: list[TierPlanRow]
    members: int
    up: int
    down: int
    liability: Liability
    points_now: int  # next month's projected points with the current tiers
    points_draft: int  # ... with the draft

    @property
    def points_delta(self) -> int:
        return self.points_draft - self.points_now

    @property
    def money_now(self) -> Decimal:
        return money(self.liability.points + self.points_now, self.liability.point_value)

    @property
    def money_draft(self) -> Decimal:
        return money(self.liability.points + self.points_draft, self.liability.point_value)

    @property
    def money_delta(self) -> Decimal:
        return self.money_draft - self.money_now


def tier_what_if(*, draft: dict[str, dict[str, str]], as_of: datetime) -> WhatIf:
    """``draft`` maps tier codes to ``{"threshold", "multiplier"}`` (as ``tier_draft_clean``
    returns them). A fixed number of queries whatever the number of members."""
    program = Program.load()
    tiers = list(Tier.objects.order_by("rank"))
    thresholds = {t.code: Decimal(draft[t.code]["threshold"]) for t in tiers if t.code in draft}
    multipliers = {t.code: Decimal(draft[t.code]["multiplier"]) for t in tiers if t.code in draft}
    preview = tier_moves_preview(thresholds=thresholds, multipliers=multipliers, as_of=as_of)
    current = tier_moves_preview(thresholds={}, as_of=as_of)
    spend_now = _spend_by_tier_after(program, tiers, thresholds={}, multipliers={}, as_of=as_of)
    spend_draft = _spend_by_tier_after(
        program, tiers, thresholds=thresholds, multipliers=multipliers, as_of=as_of
    )
    rows = []
    points_now = points_draft = Decimal("0")
    rate = program.base_earn_rate
    for tier in tiers:
        counts = preview["tiers"].get(tier.code, {})
        draft_multiplier = multipliers.get(tier.code, tier.multiplier)
        rows.append(
            TierPlanRow(
                code=tier.code,
                name=tier.name,
                threshold=tier.threshold,
                multiplier=tier.multiplier,
                draft_threshold=thresholds.get(tier.code, tier.threshold),
                draft_multiplier=draft_multiplier,
                members=counts.get("members", 0),
                up=counts.get("up", 0),
                down=counts.get("down", 0),
                stay=counts.get("stay", 0),
                after=counts.get("after", 0),
                after_now=current["tiers"].get(tier.code, {}).get("after", 0),
            )
        )
        points_now += spend_now.get(tier.pk, Decimal("0")) * rate * tier.multiplier
        points_draft += spend_draft.get(tier.pk, Decimal("0")) * rate * draft_multiplier
    # Members on no tier earn at the base rate.
    points_now += spend_now.get(None, Decimal("0")) * rate
    points_draft += spend_draft.get(None, Decimal("0")) * rate
    totals = preview["totals"]
    return WhatIf(
        rows=rows,
        members=totals["members"],
        up=totals["up"],
        down=totals["down"],
        liability=liability(program=program),
        points_now=int(points_now),
        points_draft=int(points_draft),
    )


def _spend_by_tier_after(
    program: Program,
    tiers: list[Tier],
    *,
    thresholds: dict[str, Decimal],
    multipliers: dict[str, Decimal],
    as_of: datetime,
) -> dict[int | None, Decimal]:
    """Spend of the last 30 days, summed by the tier each member would be on after tonight's
    job under these thresholds: one statement over the tier job's own decision query."""
    bounds = Member.objects.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None or not tiers:
        return {}
    factors = None
    if multipliers and program.tier_metric == Program.TierMetric.POINTS:
        factors = {t.pk: multipliers[t.code] / t.multiplier for t in tiers if t.code in multipliers}
    decisions, params = tier_decisions_sql(
        program=program,
        tiers=[(t.pk, t.rank, thresholds.get(t.code, t.threshold)) for t in tiers],
        as_of=as_of,
        first_id=bounds["low"],
        last_id=bounds["high"],
        value_factors=factors,
    )
    sql = (
        "SELECT CASE WHEN d.move IN ('up', 'down') THEN d.to_tier_id ELSE d.from_tier_id END AS after_id, "
        "SUM(s.spend) FROM (" + decisions + ") d "
        "JOIN (SELECT member_id, SUM(amount - refunded_amount) AS spend FROM members_purchase "
        "      WHERE purchased_at > %s AND purchased_at <= %s GROUP BY member_id) s "
        "  ON s.member_id = d.member_id "
        "GROUP BY CASE WHEN d.move IN ('up', 'down') THEN d.to_tier_id ELSE d.from_tier_id END"
    )
    since = as_of - timedelta(days=PROJECTION_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, db_datetime(since), db_datetime(as_of)])
        return {after_id: Decimal(str(spend or 0)) for after_id, spend in cursor.fetchall()}
