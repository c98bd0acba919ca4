"""One small strategy class per campaign kind. ``apply()`` says how many points the campaign
adds to each line of the purchase, given the lines as they stand so far."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, ClassVar

from ..models import Campaign

if TYPE_CHECKING:
    from .applicator import LineState, PurchaseContext


@dataclass(frozen=True)
class Benefit:
    """What a campaign would add: points per line index, and a new multiplier per line index
    (for multipliers, which compound with those after them)."""

    line_points: dict[int, int]
    line_factors: dict[int, Decimal]

    @property
    def points(self) -> int:
        return sum(self.line_points.values())


NO_BENEFIT = Benefit({}, {})


class CampaignStrategy:
    kind: ClassVar[str]

    def __init__(self, campaign: Campaign):
        self.campaign = campaign

    def eligible_lines(self, context: PurchaseContext, lines: list[LineState]) -> list[LineState]:
        categories, skus = self.campaign.category_list, self.campaign.sku_list
        if not categories and not skus:
            return lines
        return [
            line
            for line in lines
            if line.input.category.lower() in categories or line.input.sku.lower() in skus
        ]

    def is_eligible(self, context: PurchaseContext) -> bool:
        return context.amount >= self.campaign.min_spend

    def apply(self, context: PurchaseContext, lines: list[LineState]) -> Benefit:
        if not self.is_eligible(context):
            return NO_BENEFIT
        return self.benefit(context, self.eligible_lines(context, lines))

    def benefit(self, context: PurchaseContext, lines: list[LineState]) -> Benefit:
        raise TypeError(f"{type(self).__name__} must define benefit()")


class MultiplierStrategy(CampaignStrategy):
    """Multiplies the points of every targeted line: the gain is what the line earns with the
    multiplier less what it earned before it, rounded down per line."""

    kind = Campaign.Kind.MULTIPLIER

    def benefit(self, context: PurchaseContext, lines: list[LineState]) -> Benefit:
        points: dict[int, int] = {}
        factors: dict[int, Decimal] = {}
        for line in lines:
            factor = line.factor * self.campaign.multiplier
            gain = context.policy.round_points(line.input.amount * factor) - line.multiplied_points
            factors[line.index] = factor
            if gain > 0:
                points[line.index] = gain
        return Benefit(points, factors)


class CategoryMultiplierStrategy(MultiplierStrategy):
    """A multiplier that only ever applies to the lines of its categories or SKUs."""

    kind = Campaign.Kind.CATEGORY_MULTIPLIER

    def eligible_lines(self, context: PurchaseContext, lines: list[LineState]) -> list[LineState]:
        if not self.campaign.category_list and not self.campaign.sku_list:
            return []
        return super().eligible_lines(context, lines)


class FixedBonusStrategy(CampaignStrategy):
    """A fixed number of points once per qualifying purchase, booked on its first targeted line."""

    kind = Campaign.Kind.FIXED_BONUS

    def benefit(self, context: PurchaseContext, lines: list[LineState]) -> Benefit:
        if not lines or not self.campaign.bonus_points:
            return NO_BENEFIT
        return Benefit({lines[0].index: self.campaign.bonus_points}, {})


class FirstPurchaseStrategy(FixedBonusStrategy):
    kind = Campaign.Kind.FIRST_PURCHASE

    def is_eligible(self, context: PurchaseContext) -> bool:
        return context.is_first_purchase and super().is_eligible(context)


class SpendThresholdStrategy(CampaignStrategy):
    """Pays nothing at purchase time: settlement pays it once the period has ended."""

    kind = Campaign.Kind.SPEND_THRESHOLD

    def benefit(self, context: PurchaseContext, lines: list[LineState]) -> Benefit:
        return NO_BENEFIT


STRATEGIES: dict[str, type[CampaignStrategy]] = {
    cls.kind: cls
    for cls in (
        MultiplierStrategy,
        CategoryMultiplierStrategy,
        FixedBonusStrategy,
        FirstPurchaseStrategy,
        SpendThresholdStrategy,
    )
}


def strategy_for(campaign: Campaign) -> CampaignStrategy:
    return STRATEGIES[campaign.kind](campaign)
