"""One small strategy class per campaign kind. ``apply()`` says how many points the campaign
adds to each line of the purchase, given the lines as they stand so far; ``settle_sql()`` says,
in SQL over a chunk's working set, what the campaign gives each member when it is settled
(spend thresholds, and retroactive campaigns for purchases recorded before they existed): the
points ``apply()`` would have given at purchase time."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from members.jobs.base import db_datetime

from ..models import Campaign, Offer

if TYPE_CHECKING:
    from ..policy import EarningPolicy
    from .applicator import LineState, PurchaseContext

Sql = tuple[str, list[Any]]


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


@dataclass(frozen=True)
class SettlementInput:
    """The working set settlement gives a strategy: the names of two scratch tables of one
    chunk, and the program's rounding.

    - ``purchases``: the campaign's qualifying purchases (``purchase_id``, ``member_id``,
      ``amount``, ``net_amount``: what was not refunded);
    - ``lines``: the lines the campaign targets (every line when it targets none; a purchase
      recorded without lines is one line of its amount), with ``purchase_id``, ``member_id``,
      ``net_amount`` (the line's share of what was not refunded) and ``factor``: the base rate
      times the multiplier of the tier the member was on when the purchase was recorded, as
      ``Applicator`` starts each line at purchase time.
    """

    purchases: str
    lines: str
    targeted: bool
    policy: EarningPolicy

    @property
    def spend(self) -> str:
        """Where net spend is summed: the targeted lines, or whole purchases."""
        return self.lines if self.targeted else self.purchases

    def round(self, expression: str) -> str:
        return self.policy.round_points_sql(expression)


class CampaignStrategy:
    kind: ClassVar[str]
    # False for a kind that pays nothing at purchase time and everything at settlement; True
    # for kinds that pay live, which settlement pays only when the campaign is retroactive and
    # only for purchases recorded before it existed.
    pays_at_purchase: ClassVar[bool] = True

    def __init__(self, campaign: Campaign):
        self.campaign = campaign

    def eligible_lines_sql(self, alias: str) -> Sql | None:
        """``eligible_lines`` as a SQL condition on the purchase lines ``alias``; None when
        every line is eligible."""
        categories, skus = sorted(self.campaign.category_list), sorted(self.campaign.sku_list)
        if not categories and not skus:
            return None
        conditions = []
        if categories:
            conditions.append(f"LOWER({alias}.category) IN ({', '.join(['%s'] * len(categories))})")
        if skus:
            conditions.append(f"LOWER({alias}.sku) IN ({', '.join(['%s'] * len(skus))})")
        return f"({' OR '.join(conditions)})", [*categories, *skus]

    def settle_sql(self, source: SettlementInput) -> Sql | None:
        """A query giving one row (``member_id``, ``points``) per member of ``source``: what
        the campaign pays them at settlement. None when it pays nobody."""
        raise TypeError(f"{type(self).__name__} must define settle_sql()")

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

    def settle_sql(self, source: SettlementInput) -> Sql | None:
        # Per line, as benefit(): what the line earns with the multiplier less what it earned.
        with_multiplier = source.round("l.net_amount * l.factor * CAST(%s AS NUMERIC)")
        without = source.round("l.net_amount * l.factor")
        return (
            f"SELECT l.member_id, SUM({with_multiplier} - {without}) AS points "
            f"FROM {source.lines} l GROUP BY l.member_id",
            [self.campaign.multiplier],
        )


class CategoryMultiplierStrategy(MultiplierStrategy):
    """A multiplier that only ever applies to the lines of its categories or SKUs."""

    kind = Campaign.Kind.CATEGORY_MULTIPLIER

    def eligible_lines(self, context: PurchaseContext, lines: list[LineState]) -> list[LineState]:
        if not self.campaign.category_list and not self.campaign.sku_list:
            return []
        return super().eligible_lines(context, lines)

    def eligible_lines_sql(self, alias: str) -> Sql | None:
        if not self.campaign.category_list and not self.campaign.sku_list:
            return "1 = 0", []
        return super().eligible_lines_sql(alias)


class FixedBonusStrategy(CampaignStrategy):
    """A fixed number of points once per qualifying purchase, booked on its first targeted line."""

    kind = Campaign.Kind.FIXED_BONUS

    def benefit(self, context: PurchaseContext, lines: list[LineState]) -> Benefit:
        if not lines or not self.campaign.bonus_points:
            return NO_BENEFIT
        return Benefit({lines[0].index: self.campaign.bonus_points}, {})

    def settle_sql(self, source: SettlementInput) -> Sql | None:
        if not self.campaign.bonus_points:
            return None
        return (
            "SELECT l.member_id, CAST(%s AS BIGINT) * COUNT(DISTINCT l.purchase_id) AS points "
            f"FROM {source.lines} l GROUP BY l.member_id",
            [self.campaign.bonus_points],
        )


class FirstPurchaseStrategy(FixedBonusStrategy):
    kind = Campaign.Kind.FIRST_PURCHASE

    def is_eligible(self, context: PurchaseContext) -> bool:
        return context.is_first_purchase and super().is_eligible(context)

    def settle_sql(self, source: SettlementInput) -> Sql | None:
        # Members whose first purchase ever falls in the window: none before it starts.
        if not self.campaign.bonus_points:
            return None
        return (
            "SELECT DISTINCT l.member_id, CAST(%s AS BIGINT) AS points "
            f"FROM {source.lines} l WHERE NOT EXISTS (SELECT 1 FROM members_purchase earlier "
            "WHERE earlier.member_id = l.member_id AND earlier.purchased_at < %s)",
            [self.campaign.bonus_points, db_datetime(self.campaign.starts_at)],
        )


class SpendThresholdStrategy(CampaignStrategy):
    """Pays nothing at purchase time: settlement pays it once the period has ended."""

    kind = Campaign.Kind.SPEND_THRESHOLD
    pays_at_purchase = False

    def benefit(self, context: PurchaseContext, lines: list[LineState]) -> Benefit:
        return NO_BENEFIT

    def settle_sql(self, source: SettlementInput) -> Sql | None:
        # The bonus once, to members whose net spend over the window reached the threshold.
        if not self.campaign.bonus_points:
            return None
        return (
            "SELECT s.member_id, CASE WHEN SUM(s.net_amount) >= CAST(%s AS NUMERIC) "
            "AND SUM(s.net_amount) > 0 THEN CAST(%s AS BIGINT) ELSE 0 END AS points "
            f"FROM {source.spend} s GROUP BY s.member_id",
            [self.campaign.threshold_amount, self.campaign.bonus_points],
        )


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


# The kinds settlement always pays (not only when retroactive).
SETTLED_KINDS = [kind for kind, strategy in STRATEGIES.items() if not strategy.pays_at_purchase]


# Offers (``Offer``) are rules of the same engine: their strategies read the offer as the
# campaign strategies read a campaign (multiplier, bonus, minimum spend, categories, SKUs).


class OfferMultiplierStrategy(CampaignStrategy):
    """The purchase's base points again, (multiplier - 1) times, per line: x2 earns the base
    points twice. The tier's and the campaigns' multipliers are not multiplied again."""

    kind = Offer.Kind.MULTIPLIER

    def benefit(self, context: PurchaseContext, lines: list[LineState]) -> Benefit:
        extra = self.campaign.multiplier - 1
        points = {}
        for line in lines:
            gain = context.policy.round_points(line.input.amount * context.base_rate * extra)
            if gain > 0:
                points[line.index] = gain
        return Benefit(points, {})


class OfferSpendBonusStrategy(FixedBonusStrategy):
    """Bonus points once, when the purchase reaches the offer's minimum spend."""

    kind = Offer.Kind.SPEND_BONUS


class OfferCategoryBonusStrategy(FixedBonusStrategy):
    """Bonus points once, when the purchase has a line of the offer's categories or SKUs."""

    kind = Offer.Kind.CATEGORY_BONUS

    def eligible_lines(self, context: PurchaseContext, lines: list[LineState]) -> list[LineState]:
        if not self.campaign.category_list and not self.campaign.sku_list:
            return []
        return super().eligible_lines(context, lines)


OFFER_STRATEGIES: dict[str, type[CampaignStrategy]] = {
    cls.kind: cls for cls in (OfferMultiplierStrategy, OfferSpendBonusStrategy, OfferCategoryBonusStrategy)
}


def strategy_for(campaign: Campaign | Offer) -> CampaignStrategy:
    if isinstance(campaign, Offer):
        return OFFER_STRATEGIES[campaign.kind](campaign)
    return STRATEGIES[campaign.kind](campaign)
