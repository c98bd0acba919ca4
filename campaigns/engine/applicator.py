"""Applies the base rate, the tier multiplier (times a paid plan's earn multiplier) and the
campaigns, in priority order, to a purchase's lines, and returns which source gave which
points."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ..models import Campaign, Offer
from ..policy import EarningPolicy, get_policy
from .strategies import strategy_for


@dataclass(frozen=True)
class LineInput:
    amount: Decimal
    sku: str = ""
    category: str = ""
    quantity: Decimal = Decimal("1")


@dataclass(frozen=True)
class PurchaseContext:
    amount: Decimal
    lines: list[LineInput]
    base_rate: Decimal
    tier_multiplier: Decimal
    tier_code: str = ""
    is_first_purchase: bool = False
    # A paid membership running at the purchase multiplies the tier's multiplier (its extra
    # points are the award ``plan:<code>``).
    plan_multiplier: Decimal = Decimal("1")
    plan_code: str = ""
    policy: EarningPolicy = field(default_factory=get_policy)


@dataclass
class LineState:
    index: int
    input: LineInput
    factor: Decimal  # base rate x tier multiplier x plan multiplier x the multipliers applied so far
    multiplied_points: int  # floor(amount x factor)
    points: int  # every point the line earned so far, bonuses included


@dataclass(frozen=True)
class SourceAward:
    source: str
    points: int
    campaign: Campaign | None = None
    offer: Offer | None = None

    @property
    def is_bonus(self) -> bool:
        """Given by a campaign or an offer (not the base rate or the tier)."""
        return self.campaign is not None or self.offer is not None

    @property
    def rule(self) -> Campaign | Offer | None:
        return self.campaign or self.offer


@dataclass
class EarningResult:
    lines: list[LineState]
    awards: list[SourceAward]

    @property
    def points(self) -> int:
        return sum(award.points for award in self.awards)

    def line_points(self) -> list[int]:
        return [line.points for line in self.lines]


# grant(campaign or offer, points) -> how many of them it may still give (caps, budget).
Grant = Callable[[Campaign | Offer, int], int]


def _grant_all(campaign: Campaign | Offer, points: int) -> int:
    return points


class Applicator:
    def __init__(self, grant: Grant = _grant_all):
        self.grant = grant

    def apply(self, context: PurchaseContext, campaigns: Iterable[Campaign | Offer]) -> EarningResult:
        """``campaigns``: the campaigns and offers that may apply, stacked by one priority order."""
        policy = context.policy
        lines: list[LineState] = []
        base_total = tier_total = plan_total = 0
        for index, line in enumerate(context.lines):
            base = policy.round_points(line.amount * context.base_rate)
            tiered = policy.round_points(line.amount * context.base_rate * context.tier_multiplier)
            factor = context.base_rate * context.tier_multiplier * context.plan_multiplier
            multiplied = policy.round_points(line.amount * factor)
            lines.append(LineState(index, line, factor, multiplied, multiplied))
            base_total += base
            tier_total += tiered - base
            plan_total += multiplied - tiered
        awards = [SourceAward("base", base_total)]
        if tier_total:
            awards.append(SourceAward(f"tier:{context.tier_code}", tier_total))
        if plan_total:
            awards.append(SourceAward(f"plan:{context.plan_code}", plan_total))

        applied_any = False
        for campaign in sorted(campaigns, key=lambda c: (-c.priority, c.pk or 0)):
            if campaign.exclusive and applied_any:
                continue  # an exclusive campaign never stacks on one of higher priority
            benefit = strategy_for(campaign).apply(context, lines)
            wanted = benefit.points
            granted = min(wanted, self.grant(campaign, wanted)) if wanted > 0 else 0
            if granted <= 0:
                continue
            for index, new_factor in benefit.line_factors.items():
                lines[index].factor = new_factor
                lines[index].multiplied_points = policy.round_points(lines[index].input.amount * new_factor)
            remaining = granted
            for index, gain in sorted(benefit.line_points.items()):
                take = min(gain, remaining)
                lines[index].points += take
                remaining -= take
            if isinstance(campaign, Offer):
                awards.append(SourceAward(campaign.source, granted, offer=campaign))
            else:
                awards.append(SourceAward(campaign.source, granted, campaign))
            applied_any = True
            if campaign.exclusive:
                break
        return EarningResult(lines, awards)
