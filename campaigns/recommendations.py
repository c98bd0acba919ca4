"""Recommended rewards for the dashboard: the rewards a member may redeem or is working towards,
ranked by what they buy (category affinity from their purchase lines), their tier and their
balance, each with the reason it is shown. Three queries, whatever the size of the catalog."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.formats import whole_number
from members.models import Member, PurchaseLine
from rewards.models import Reward
from rewards.selectors import RewardOption, member_reward_options

AFFINITY_DAYS = 365
# Reasons a member cannot fix by earning points: such rewards are not recommended.
BLOCKING = {"member_inactive", "reward_unavailable", "tier_required", "out_of_stock", "limit_reached"}


@dataclass(frozen=True)
class Recommendation:
    reward: Reward
    reason: str
    score: float
    points_short: int


def category_affinity(member: Member, *, now: datetime) -> dict[str, Decimal]:
    """The member's share of spend per category (lower case) over the last year (one query)."""
    rows = (
        PurchaseLine.objects.filter(
            purchase__member=member, purchase__purchased_at__gte=now - timedelta(days=AFFINITY_DAYS)
        )
        .exclude(category="")
        .annotate(cat=Lower("category"))
        .values("cat")
        .annotate(spend=Sum("amount"))
    )
    spend = {row["cat"]: Decimal(row["spend"] or 0) for row in rows}
    total = sum(spend.values())
    return {cat: amount / total for cat, amount in spend.items()} if total else {}


def _recommend(option: RewardOption, affinity: dict[str, Decimal], member: Member) -> Recommendation | None:
    if BLOCKING & set(option.reasons):
        return None
    reward = option.reward
    share = affinity.get(reward.category.lower(), Decimal(0)) if reward.category else Decimal(0)
    reachable = (
        1.0 if not option.points_short else max(0.0, 1 - option.points_short / max(reward.points_cost, 1))
    )
    tier_made = reward.min_tier_id is not None
    score = float(share) * 2 + reachable + (0.3 if tier_made else 0)
    parts = []
    # The reason's parts, joined with semicolons, each a clause a translation can stand alone.
    if share:
        parts.append(_("you often buy %(category)s") % {"category": reward.category.lower()})
    if tier_made:
        parts.append(_("for %(tier)s members like you") % {"tier": reward.min_tier.name})
    if option.points_short:
        short = option.points_short
        parts.append(
            ngettext("you are %(points)s point from it", "you are %(points)s points from it", short)
            % {"points": whole_number(short)}
        )
    else:
        parts.append(_("you have the points for it now"))
    reason = "; ".join(parts)
    return Recommendation(reward, reason[:1].upper() + reason[1:] + ".", score, option.points_short)


def recommended_rewards(
    member: Member, *, limit: int = 3, now: datetime | None = None
) -> list[Recommendation]:
    """The best ``limit`` rewards for the member, best first, each with its reason."""
    now = now or timezone.now()
    affinity = category_affinity(member, now=now)
    options = member_reward_options(member, on=now)
    ranked = [r for r in (_recommend(option, affinity, member) for option in options) if r is not None]
    ranked.sort(key=lambda r: (-r.score, r.points_short, r.reward.points_cost, r.reward.code))
    return ranked[:limit]
