"""Challenge progress and streaks as pure functions of a member's history: no database.

A member's history is a list of ``Fact``: a purchase (its amount net of refunds, its store and
categories; a fully refunded purchase is no fact at all), an approved activity, an event
check-in. Each challenge goal is a small strategy that says whether a fact counts and how a
pool of facts measures up (a count, a sum, a number of distinct things).

``challenge_scan`` walks the facts in time order, keeping a pool of what counts: facts before
the challenge starts or after it ends never enter it, and in a rolling window of N days a fact
leaves the pool N days after it happened. When the pool measures up to the target the
challenge completes at that fact and the pool empties (a repeatable challenge starts again; a
once-only one stops). The same walk serves the purchase path (live, inside the purchase's
transaction) and the job that recomputes progress from history, so the two cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import ClassVar

PURCHASE = "purchase"
ACTIVITY = "activity"
CHECK_IN = "check_in"


@dataclass(frozen=True)
class Fact:
    at: datetime
    kind: str
    ref: int  # the purchase's, activity's or check-in's id
    amount: Decimal = Decimal("0")
    store_id: int | None = None
    categories: frozenset[str] = frozenset()
    activity_kind: str = ""
    available_at: datetime | None = None  # a purchase's end of return window

    @property
    def order(self) -> tuple:
        return (self.at, self.kind, self.ref)


@dataclass(frozen=True)
class ChallengeRule:
    """What the engine needs of a ``Challenge``."""

    id: int
    goal: str
    target: int
    starts_at: datetime
    ends_at: datetime | None = None
    window_days: int | None = None
    repeatable: bool = False
    activity_kind: str = ""

    def in_period(self, fact: Fact) -> bool:
        return fact.at >= self.starts_at and (self.ends_at is None or fact.at < self.ends_at)


class Goal:
    """One goal kind: which facts count, and what a pool of them measures."""

    code: ClassVar[str]
    fact_kind: ClassVar[str] = PURCHASE

    def counts(self, rule: ChallengeRule, fact: Fact) -> bool:
        return fact.kind == self.fact_kind

    def measure(self, pool: Sequence[Fact]) -> int:
        return len(pool)


class PurchasesGoal(Goal):
    code = "purchases"


class SpendGoal(Goal):
    code = "spend"

    def measure(self, pool: Sequence[Fact]) -> int:
        return math.floor(sum((fact.amount for fact in pool), Decimal("0")))


class StoresGoal(Goal):
    code = "stores"

    def measure(self, pool: Sequence[Fact]) -> int:
        return len({fact.store_id for fact in pool})


class CategoriesGoal(Goal):
    code = "categories"

    def counts(self, rule: ChallengeRule, fact: Fact) -> bool:
        return fact.kind == PURCHASE and bool(fact.categories)

    def measure(self, pool: Sequence[Fact]) -> int:
        return len(frozenset().union(*(fact.categories for fact in pool)))


class ActivitiesGoal(Goal):
    code = "activities"
    fact_kind = ACTIVITY

    def counts(self, rule: ChallengeRule, fact: Fact) -> bool:
        return fact.kind == ACTIVITY and (not rule.activity_kind or fact.activity_kind == rule.activity_kind)


class CheckInsGoal(Goal):
    code = "check_ins"
    fact_kind = CHECK_IN


GOALS: dict[str, Goal] = {
    goal.code: goal
    for goal in (
        PurchasesGoal(),
        SpendGoal(),
        StoresGoal(),
        CategoriesGoal(),
        ActivitiesGoal(),
        CheckInsGoal(),
    )
}


def goal_for(code: str) -> Goal:
    return GOALS[code]


@dataclass(frozen=True)
class ChallengeState:
    progress: int
    completions: tuple[Fact, ...] = field(default_factory=tuple)  # the fact that completed each


def challenge_scan(rule: ChallengeRule, facts: Iterable[Fact]) -> ChallengeState:
    goal = goal_for(rule.goal)
    window = timedelta(days=rule.window_days) if rule.window_days else None
    pool: list[Fact] = []
    completions: list[Fact] = []
    last_at: datetime | None = None
    for fact in sorted(facts, key=lambda f: f.order):
        if not rule.in_period(fact) or not goal.counts(rule, fact):
            continue
        last_at = fact.at
        if window is not None:
            pool = [kept for kept in pool if kept.at > fact.at - window]
        pool.append(fact)
        if goal.measure(pool) >= rule.target:
            completions.append(fact)
            pool = []
            if not rule.repeatable:
                return ChallengeState(rule.target, tuple(completions))
    if window is not None and last_at is not None:
        pool = [kept for kept in pool if kept.at > last_at - window]
    return ChallengeState(min(goal.measure(pool), rule.target), tuple(completions))


def horizon(rule: ChallengeRule) -> datetime:
    """The earliest fact that can matter to the rule."""
    return rule.starts_at


# --- streaks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Streak:
    current_weeks: int = 0
    best_weeks: int = 0
    current_start: date | None = None  # the Monday of the current streak's first week


def week_of(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def streak_from_days(days: Iterable[date], *, today: date) -> Streak:
    """Consecutive ISO weeks with at least one purchase. The current streak holds while this
    week or last week had one (this week is not over yet), and is broken once a whole week
    passes without one."""
    weeks = sorted({week_of(day) for day in days})
    best = run = 0
    previous: date | None = None
    run_start: date | None = None
    for week in weeks:
        if previous is not None and week - previous == timedelta(weeks=1):
            run += 1
        else:
            run, run_start = 1, week
        best = max(best, run)
        previous = week
    if previous is None or week_of(today) - previous > timedelta(weeks=1):
        return Streak(0, best, None)
    return Streak(run, best, run_start)
