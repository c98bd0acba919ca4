"""Challenge goals and streaks as pure functions: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from campaigns.engagement.progress import (
    ACTIVITY,
    PURCHASE,
    ChallengeRule,
    Fact,
    challenge_scan,
    streak_from_days,
)

T0 = datetime(2026, 1, 5, 12, tzinfo=UTC)


def buy(day: float, amount: str = "10.00", store: int = 1, categories=(), ref: int | None = None) -> Fact:
    return Fact(
        at=T0 + timedelta(days=day),
        kind=PURCHASE,
        ref=ref if ref is not None else int(day * 10),
        amount=Decimal(amount),
        store_id=store,
        categories=frozenset(categories),
    )


def rule(goal: str = "purchases", target: int = 3, **fields) -> ChallengeRule:
    return ChallengeRule(id=1, goal=goal, target=target, starts_at=fields.pop("starts_at", T0), **fields)


def test_three_purchases_within_any_30_days_complete_at_the_third():
    state = challenge_scan(rule(window_days=30), [buy(0), buy(29), buy(29.5)])
    assert [f.at for f in state.completions] == [T0 + timedelta(days=29.5)]
    assert state.progress == 3


def test_a_purchase_leaves_the_rolling_window_after_n_days():
    state = challenge_scan(rule(window_days=30), [buy(0), buy(10), buy(39)])
    assert state.completions == () and state.progress == 2  # day 0 left the window at day 30


def test_a_repeatable_challenge_starts_again_after_each_completion():
    facts = [buy(d) for d in range(7)]
    state = challenge_scan(rule(repeatable=True), facts)
    assert len(state.completions) == 2 and state.progress == 1


def test_a_fixed_window_counts_only_inside_it():
    r = rule(starts_at=T0 + timedelta(days=5), ends_at=T0 + timedelta(days=10))
    assert challenge_scan(r, [buy(1), buy(6), buy(7), buy(11)]).progress == 2


def test_spend_stores_and_categories():
    facts = [buy(0, "99.99", 1, ["Coffee"]), buy(1, "50.02", 2, ["coffee", "tea"]), buy(2, "1.00", 2, [])]
    assert challenge_scan(rule("spend", 200), facts).progress == 151
    assert challenge_scan(rule("stores", 5), facts).progress == 2
    assert challenge_scan(rule("categories", 5), facts).progress == 3  # "Coffee" and "coffee" differ here


def test_activities_of_a_type():
    post = Fact(at=T0, kind=ACTIVITY, ref=1, activity_kind="community_post")
    review = Fact(at=T0, kind=ACTIVITY, ref=2, activity_kind="review")
    assert challenge_scan(rule("activities", 2, activity_kind="community_post"), [post, review]).progress == 1


def test_order_of_arrival_does_not_matter():
    facts = [buy(0), buy(3), buy(5), buy(9)]
    assert challenge_scan(rule(window_days=7), facts) == challenge_scan(rule(window_days=7), facts[::-1])


def test_streaks_count_consecutive_iso_weeks():
    monday = date(2026, 3, 2)
    days = [monday - timedelta(weeks=w) for w in (0, 1, 2, 5, 6)]
    streak = streak_from_days(days, today=monday + timedelta(days=3))
    assert (streak.current_weeks, streak.best_weeks) == (3, 3)
    # last week counts while this week is not over; a whole empty week breaks it
    assert streak_from_days(days, today=monday + timedelta(days=8)).current_weeks == 3
    assert streak_from_days(days, today=monday + timedelta(days=14)).current_weeks == 0
    assert streak_from_days([], today=monday).best_weeks == 0
    # a Sunday and the next Monday are two weeks in a row
    assert streak_from_days([date(2026, 3, 8), date(2026, 3, 9)], today=date(2026, 3, 9)).current_weeks == 2
