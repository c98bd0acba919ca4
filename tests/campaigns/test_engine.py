"""The earning engine alone (no database): per-line rounding, multipliers that compound,
category targeting, priority and exclusivity, the grant hook, and that the awards always add
up to the lines' points."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.engine import Applicator, LineInput, PurchaseContext
from campaigns.models import Campaign

NOW = timezone.now()


def make(code: str, kind: str = Campaign.Kind.MULTIPLIER, pk: int = 1, **fields) -> Campaign:
    return Campaign(
        pk=pk,
        code=code,
        name=code,
        kind=kind,
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=1),
        **fields,
    )


def context(*amounts: str, tier: str = "1", first: bool = False, lines: list[LineInput] | None = None):
    line_inputs = lines or [LineInput(amount=Decimal(a)) for a in amounts]
    return PurchaseContext(
        amount=sum((line.amount for line in line_inputs), Decimal("0")),
        lines=line_inputs,
        base_rate=Decimal("1"),
        tier_multiplier=Decimal(tier),
        tier_code="gold",
        is_first_purchase=first,
    )


def test_base_points_round_down_per_line():
    result = Applicator().apply(context("10.99", "20.99"), [])

    assert result.line_points() == [10, 20]
    assert [(a.source, a.points) for a in result.awards] == [("base", 30)]


def test_the_tier_multiplier_is_its_own_award():
    result = Applicator().apply(context("100.00", tier="1.5"), [])

    assert [(a.source, a.points) for a in result.awards] == [("base", 100), ("tier:gold", 50)]


def test_multipliers_compound_and_each_says_what_it_added():
    double = make("double", multiplier=Decimal("2"), priority=2, pk=1)
    half_more = make("half-more", multiplier=Decimal("1.5"), priority=1, pk=2)

    result = Applicator().apply(context("10.00"), [half_more, double])

    # 10 -> x2 = 20 (+10) -> x1.5 = 30 (+10)
    assert [(a.source, a.points) for a in result.awards] == [
        ("base", 10),
        ("campaign:double", 10),
        ("campaign:half-more", 10),
    ]
    assert result.points == 30


def test_a_category_multiplier_only_touches_its_lines():
    coffee = make(
        "coffee", kind=Campaign.Kind.CATEGORY_MULTIPLIER, multiplier=Decimal("3"), categories="Coffee"
    )
    lines = [LineInput(Decimal("5.50"), category="coffee"), LineInput(Decimal("20.00"), category="books")]

    result = Applicator().apply(context(lines=lines), [coffee])

    assert result.line_points() == [16, 20]  # floor(16.5), untouched 20
    assert result.awards[-1].points == 11


def test_an_exclusive_campaign_of_higher_priority_stops_the_others():
    exclusive = make("exclusive", multiplier=Decimal("3"), priority=10, exclusive=True, pk=1)
    other = make("other", kind=Campaign.Kind.FIXED_BONUS, bonus_points=50, priority=1, pk=2)

    result = Applicator().apply(context("10.00"), [other, exclusive])

    assert [a.source for a in result.awards] == ["base", "campaign:exclusive"]


def test_an_exclusive_campaign_does_not_stack_on_one_of_higher_priority():
    stackable = make("stackable", kind=Campaign.Kind.FIXED_BONUS, bonus_points=50, priority=10, pk=1)
    exclusive = make("exclusive", multiplier=Decimal("3"), priority=1, exclusive=True, pk=2)

    result = Applicator().apply(context("10.00"), [exclusive, stackable])

    assert [a.source for a in result.awards] == ["base", "campaign:stackable"]


def test_min_spend_and_first_purchase_decide_eligibility():
    big_spender = make("big", kind=Campaign.Kind.FIXED_BONUS, bonus_points=100, min_spend=Decimal("50"), pk=1)
    first = make("first", kind=Campaign.Kind.FIRST_PURCHASE, bonus_points=70, pk=2)

    small = Applicator().apply(context("49.99"), [big_spender, first])
    first_time = Applicator().apply(context("50.00", first=True), [big_spender, first])

    assert [a.source for a in small.awards] == ["base"]
    assert {a.source: a.points for a in first_time.awards} == {
        "base": 50,
        "campaign:big": 100,
        "campaign:first": 70,
    }


def test_the_grant_hook_caps_what_a_campaign_gives():
    double = make("double", multiplier=Decimal("2"))

    result = Applicator(grant=lambda campaign, points: min(points, 7)).apply(
        context("10.00", "10.00"), [double]
    )

    assert result.awards[-1].points == 7
    assert sum(result.line_points()) == 27
    assert result.points == 27


def test_a_threshold_campaign_gives_nothing_at_purchase_time():
    threshold = make(
        "spend", kind=Campaign.Kind.SPEND_THRESHOLD, bonus_points=500, threshold_amount=Decimal("1")
    )

    assert Applicator().apply(context("100.00"), [threshold]).points == 100


@settings(max_examples=60, deadline=None)
@given(
    amounts=st.lists(st.decimals(min_value="0.01", max_value="5000", places=2), min_size=1, max_size=6),
    tier=st.sampled_from(["1", "1.25", "1.5", "2"]),
    multiplier=st.sampled_from(["1", "1.1", "2", "3.33"]),
    bonus=st.integers(0, 500),
    cap=st.integers(0, 10_000),
)
def test_the_awards_always_add_up_to_the_lines(amounts, tier, multiplier, bonus, cap):
    campaigns = [
        make("mult", multiplier=Decimal(multiplier), priority=2, pk=1),
        make("bonus", kind=Campaign.Kind.FIXED_BONUS, bonus_points=bonus, priority=1, pk=2),
    ]
    ctx = context(*[str(a) for a in amounts], tier=tier)

    result = Applicator(grant=lambda c, p: min(p, cap)).apply(ctx, campaigns)

    assert result.points == sum(result.line_points())
    assert all(a.points > 0 for a in result.awards if a.source != "base")
    uncapped = sum(int(a * Decimal(tier) * Decimal(multiplier)) for a in amounts)
    assert result.points <= uncapped + bonus
