"""Offers as rules of the earning engine, as pure functions: no database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from campaigns.engine import Applicator, LineInput, PurchaseContext
from campaigns.engine.strategies import strategy_for
from campaigns.models import Campaign, Offer

START, END = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)


def offer(code: str = "o", pk: int = 1, **fields) -> Offer:
    fields.setdefault("kind", Offer.Kind.MULTIPLIER)
    return Offer(pk=pk, code=code, name=code, starts_at=START, ends_at=END, **fields)


def campaign(code: str = "c", pk: int = 1, **fields) -> Campaign:
    fields.setdefault("kind", Campaign.Kind.MULTIPLIER)
    return Campaign(pk=pk, code=code, name=code, starts_at=START, ends_at=END, **fields)


def context(*lines: LineInput, tier_multiplier: str = "1.5") -> PurchaseContext:
    return PurchaseContext(
        amount=sum((line.amount for line in lines), Decimal(0)),
        lines=list(lines),
        base_rate=Decimal("1"),
        tier_multiplier=Decimal(tier_multiplier),
        tier_code="silver",
    )


def sources(result) -> dict[str, int]:
    return {award.source: award.points for award in result.awards}


def test_a_multiplier_offer_gives_the_base_points_again_not_the_tiers():
    result = Applicator().apply(
        context(LineInput(Decimal("10.50")), LineInput(Decimal("20.75"))),
        [offer("x2", multiplier=Decimal("2"))],
    )

    # base 10 + 20; the tier's x1.5 is not doubled
    assert sources(result) == {"base": 30, "tier:silver": 16, "offer:x2": 30}
    assert result.awards[-1].offer is not None and result.awards[-1].campaign is None
    assert result.awards[-1].is_bonus and not result.awards[0].is_bonus


def test_a_spend_bonus_needs_the_minimum_spend():
    bonus = offer("spend", kind=Offer.Kind.SPEND_BONUS, bonus_points=200, min_spend=Decimal("50"))

    assert (
        sources(Applicator().apply(context(LineInput(Decimal("49.99"))), [bonus])).get("offer:spend") is None
    )
    assert sources(Applicator().apply(context(LineInput(Decimal("50"))), [bonus]))["offer:spend"] == 200


def test_a_category_bonus_needs_a_line_of_its_category_and_none_targets_nothing():
    bonus = offer("coffee", kind=Offer.Kind.CATEGORY_BONUS, bonus_points=75, categories="Coffee")
    lines = (LineInput(Decimal("5"), category="tea"), LineInput(Decimal("3"), category="COFFEE"))

    result = Applicator().apply(context(*lines), [bonus])
    assert sources(result)["offer:coffee"] == 75
    assert result.line_points()[1] == 4 + 75  # booked on the coffee line (3 x 1.5 = 4)
    assert "offer:coffee" not in sources(Applicator().apply(context(lines[0]), [bonus]))
    untargeted = offer("none", kind=Offer.Kind.CATEGORY_BONUS, bonus_points=75)
    assert "offer:none" not in sources(Applicator().apply(context(*lines), [untargeted]))


def test_offers_and_campaigns_stack_by_one_priority_order_and_exclusive_stops_the_rest():
    double = campaign("double", multiplier=Decimal("2"), priority=5)
    exclusive = offer("only-me", kind=Offer.Kind.SPEND_BONUS, bonus_points=10, priority=9, exclusive=True)
    low = offer("low", pk=2, kind=Offer.Kind.SPEND_BONUS, bonus_points=7, priority=1)

    stacked = Applicator().apply(context(LineInput(Decimal("100"))), [low, double])
    assert [a.source for a in stacked.awards] == ["base", "tier:silver", "campaign:double", "offer:low"]

    alone = Applicator().apply(context(LineInput(Decimal("100"))), [low, double, exclusive])
    assert [a.source for a in alone.awards] == ["base", "tier:silver", "offer:only-me"]


def test_an_exclusive_offer_below_a_campaign_that_applied_does_not_stack():
    double = campaign("double", multiplier=Decimal("2"), priority=5)
    exclusive = offer("excl", kind=Offer.Kind.SPEND_BONUS, bonus_points=10, priority=1, exclusive=True)

    result = Applicator().apply(context(LineInput(Decimal("100"))), [double, exclusive])

    assert "offer:excl" not in sources(result)


def test_the_grant_decides_what_an_offer_may_still_give():
    bonus = offer("b", kind=Offer.Kind.SPEND_BONUS, bonus_points=100)
    result = Applicator(grant=lambda rule, points: 30).apply(context(LineInput(Decimal("10"))), [bonus])
    assert sources(result)["offer:b"] == 30


def test_every_earning_offer_kind_has_a_strategy():
    for kind in Offer.EARNING_KINDS:
        assert strategy_for(offer(kind=kind)).kind == kind
