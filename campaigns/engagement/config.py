"""The engagement settings the hot path reads (active challenges, milestone badges, streak
milestones, tier ranks), cached per process so a purchase pays no query for them. Saving or
deleting any of them clears this process's copy at once (signals); other processes reload
within ``LOYALTY_ENGAGEMENT_CONFIG_TTL`` seconds (default 60), and the ``recompute_challenges``
job catches up whatever they missed in between."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save

from members.models import Tier

from .models import Badge, Challenge, StreakMilestone
from .progress import ChallengeRule


@dataclass(frozen=True)
class ChallengeConfig:
    rule: ChallengeRule
    code: str
    name: str
    reward_points: int
    reward_badge_id: int | None
    tier_ids: frozenset[int]  # empty: every tier

    def applies_to(self, tier_id: int | None) -> bool:
        return not self.tier_ids or tier_id in self.tier_ids


@dataclass(frozen=True)
class MilestoneBadge:
    id: int
    code: str
    milestone: str
    count: int
    tier_rank: int | None


@dataclass(frozen=True)
class StreakConfig:
    id: int
    weeks: int
    points: int
    badge_id: int | None


@dataclass(frozen=True)
class EngagementConfig:
    challenges: tuple[ChallengeConfig, ...]
    milestone_badges: tuple[MilestoneBadge, ...]
    streak_milestones: tuple[StreakConfig, ...]
    tier_ranks: dict[int, int]

    @property
    def empty(self) -> bool:
        return not (self.challenges or self.milestone_badges or self.streak_milestones)


_cached: tuple[float, EngagementConfig] | None = None


def engagement_config() -> EngagementConfig:
    global _cached
    ttl = getattr(settings, "LOYALTY_ENGAGEMENT_CONFIG_TTL", 60)
    if _cached is not None and time.monotonic() - _cached[0] < ttl:
        return _cached[1]
    config = _load()
    _cached = (time.monotonic(), config)
    return config


def engagement_config_prime_empty() -> None:
    """Hold "no engagement settings" as this process's copy (tests start from an empty
    database; saving any setting clears it)."""
    global _cached
    _cached = (time.monotonic(), EngagementConfig((), (), (), {}))


def engagement_config_clear(**_) -> None:
    global _cached
    _cached = None


def _load() -> EngagementConfig:
    challenges = tuple(
        ChallengeConfig(
            rule=ChallengeRule(
                id=c.pk,
                goal=c.goal,
                target=c.target,
                starts_at=c.starts_at,
                ends_at=c.ends_at,
                window_days=c.window_days,
                repeatable=c.repeatable,
                activity_kind=c.activity_kind,
            ),
            code=c.code,
            name=c.name,
            reward_points=c.reward_points,
            reward_badge_id=c.reward_badge_id,
            tier_ids=frozenset(t.pk for t in c.tiers.all()),
        )
        for c in Challenge.objects.filter(is_active=True).prefetch_related("tiers")
    )
    badges = tuple(
        MilestoneBadge(
            b.pk, b.code, b.milestone, b.milestone_count, b.milestone_tier.rank if b.milestone_tier else None
        )
        for b in Badge.objects.filter(is_active=True).exclude(milestone="").select_related("milestone_tier")
    )
    streaks = tuple(
        StreakConfig(s.pk, s.weeks, s.points, s.badge_id)
        for s in StreakMilestone.objects.filter(is_active=True)
    )
    return EngagementConfig(challenges, badges, streaks, dict(Tier.objects.values_list("pk", "rank")))


def connect_signals() -> None:
    # Tier ranks (for tier badges) are picked up with the next reload: tiers change rarely and a
    # tier's save should not cost every process a reload.
    for model in (Challenge, Badge, StreakMilestone):
        post_save.connect(
            engagement_config_clear, sender=model, dispatch_uid=f"engagement-config-{model.__name__}"
        )
        post_delete.connect(
            engagement_config_clear, sender=model, dispatch_uid=f"engagement-config-del-{model.__name__}"
        )
    m2m_changed.connect(
        engagement_config_clear, sender=Challenge.tiers.through, dispatch_uid="engagement-config-tiers"
    )
