"""Reads of engagement used by the API, the portal and the staff figures; each a fixed few
queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from members.models import Member, Purchase

from .config import engagement_config
from .models import ChallengeProgress, MemberBadge
from .progress import Streak, streak_from_days


@dataclass(frozen=True)
class ChallengeView:
    code: str
    name: str
    description: str
    progress: int
    target: int
    completed_at: datetime | None
    completions: int
    reward_points: int
    window_days: int | None
    ends_at: datetime | None
    repeatable: bool

    @property
    def percent(self) -> int:
        return min(100, self.progress * 100 // self.target) if self.target else 0


@dataclass(frozen=True)
class Engagement:
    badges: list[MemberBadge]
    challenges: list[ChallengeView]
    streak: Streak


def member_streak(member: Member, *, now: datetime | None = None) -> Streak:
    now = now or timezone.now()
    dates = Purchase.objects.filter(member=member, refunded_amount__lt=F("amount")).values_list(
        "purchased_at", flat=True
    )
    return streak_from_days(
        (timezone.localtime(at).date() for at in dates), today=timezone.localtime(now).date()
    )


def member_badges(member: Member) -> list[MemberBadge]:
    return list(MemberBadge.objects.filter(member=member).select_related("badge").order_by("earned_at", "pk"))


def member_challenges(member: Member) -> list[ChallengeView]:
    """Every active challenge open to the member's tier, with where the member stands."""
    from .models import Challenge

    config = engagement_config()
    open_to = [c for c in config.challenges if c.applies_to(member.tier_id)]
    if not open_to:
        return []
    rows = {
        row.challenge_id: row
        for row in ChallengeProgress.objects.filter(
            member=member, challenge_id__in=[c.rule.id for c in open_to]
        )
    }
    descriptions = dict(
        Challenge.objects.filter(pk__in=[c.rule.id for c in open_to]).values_list("pk", "description")
    )
    views = []
    for challenge in open_to:
        row = rows.get(challenge.rule.id)
        completed = bool(row and row.completions)
        progress = row.progress if row else 0
        if completed and not challenge.rule.repeatable:
            progress = challenge.rule.target
        views.append(
            ChallengeView(
                code=challenge.code,
                name=challenge.name,
                description=descriptions.get(challenge.rule.id, ""),
                progress=progress,
                target=challenge.rule.target,
                completed_at=row.completed_at if completed else None,
                completions=row.completions if row else 0,
                reward_points=challenge.reward_points,
                window_days=challenge.rule.window_days,
                ends_at=challenge.rule.ends_at,
                repeatable=challenge.rule.repeatable,
            )
        )
    return views


def member_engagement(member: Member, *, now: datetime | None = None) -> Engagement:
    return Engagement(member_badges(member), member_challenges(member), member_streak(member, now=now))
