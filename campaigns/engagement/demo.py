"""Engagement defaults (shared/CONTRACT.md, "Engagement") and the demo's extra challenges,
badges, a streak milestone and an event. Idempotent: rows are found by their codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

from members.models import Tier

from .models import Badge, Challenge, Event, StreakMilestone

# Nothing before this counts; early enough that any history a program imports does.
PROGRAM_START = datetime(2020, 1, 1, tzinfo=UTC)

DEFAULT_BADGES = [
    dict(
        code="first-purchase",
        name="First purchase",
        description="Your first purchase with us.",
        image="engagement/badges/first-purchase.svg",
        milestone=Badge.Milestone.NTH_PURCHASE,
        milestone_count=1,
        position=1,
    ),
    dict(
        code="regular",
        name="Regular",
        description="Three visits within 30 days.",
        image="engagement/badges/regular.svg",
        position=2,
    ),
]

DEMO_BADGES = [
    dict(
        code="big-spender",
        name="Big spender",
        description="250 spent within 30 days.",
        image="engagement/badges/big-spender.svg",
        position=3,
    ),
    dict(
        code="explorer",
        name="Explorer",
        description="Bought in three different categories.",
        image="engagement/badges/explorer.svg",
        position=4,
    ),
    dict(
        code="on-a-roll",
        name="On a roll",
        description="Four weeks in a row with a purchase.",
        image="engagement/badges/streak.svg",
        position=5,
    ),
    dict(
        code="gold-member",
        name="Gold member",
        description="Reached the gold tier.",
        image="engagement/badges/gold.svg",
        milestone=Badge.Milestone.TIER_REACHED,
        position=6,
    ),
    dict(
        code="good-friend",
        name="Good friend",
        description="A friend you referred made a first purchase.",
        image="engagement/badges/friend.svg",
        milestone=Badge.Milestone.FIRST_REFERRAL,
        position=7,
    ),
    dict(
        code="one-year",
        name="One year with us",
        description="A member for a whole year.",
        image="engagement/badges/anniversary.svg",
        milestone=Badge.Milestone.YEARS_MEMBER,
        milestone_count=1,
        position=8,
    ),
    dict(
        code="community-voice",
        name="Community voice",
        description="Five posts in our community forum.",
        image="engagement/badges/community.svg",
        position=9,
    ),
]


def _badges(specs: list[dict]) -> dict[str, Badge]:
    badges = {}
    for spec in specs:
        spec = dict(spec)
        code = spec.pop("code")
        if spec.get("milestone") == Badge.Milestone.TIER_REACHED:
            spec["milestone_tier"] = Tier.objects.filter(code="gold").first()
        badges[code], _ = Badge.objects.get_or_create(code=code, defaults=spec)
    return badges


def seed_program() -> None:
    badges = _badges(DEFAULT_BADGES)
    Challenge.objects.get_or_create(
        code="three-visits",
        defaults=dict(
            name="Three visits",
            description="Shop with us 3 times within any 30 days: 150 points and the Regular badge.",
            goal=Challenge.Goal.PURCHASES,
            target=3,
            window_days=30,
            starts_at=PROGRAM_START,
            reward_points=150,
            reward_badge=badges["regular"],
            repeatable=False,
            position=1,
        ),
    )


def seed_demo(out) -> None:
    """After ``campaigns.demo`` recorded the demo's purchases (``seed_demo`` runs the modules in
    order)."""
    badges = _badges(DEMO_BADGES)
    now = timezone.now()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    specs = [
        dict(
            code="big-spender",
            name="Big spender",
            goal=Challenge.Goal.SPEND,
            target=250,
            window_days=30,
            description="Spend 250 within any 30 days.",
            reward_points=200,
            reward_badge=badges["big-spender"],
            position=2,
        ),
        dict(
            code="explorer",
            name="Explorer",
            goal=Challenge.Goal.CATEGORIES,
            target=3,
            description="Buy in three different categories this season.",
            reward_points=100,
            reward_badge=badges["explorer"],
            starts_at=day - timedelta(days=90),
            ends_at=day + timedelta(days=60),
            position=3,
        ),
        dict(
            code="community-voice",
            name="Community voice",
            goal=Challenge.Goal.ACTIVITIES,
            activity_kind="community_post",
            target=5,
            description="Post five times in our community forum.",
            reward_points=50,
            reward_badge=badges["community-voice"],
            repeatable=True,
            position=4,
        ),
        dict(
            code="event-goer",
            name="Event goer",
            goal=Challenge.Goal.CHECK_INS,
            target=2,
            description="Come to two community events.",
            reward_points=100,
            position=5,
        ),
    ]
    for spec in specs:
        code = spec.pop("code")
        spec.setdefault("starts_at", PROGRAM_START)
        Challenge.objects.get_or_create(code=code, defaults=spec)
    StreakMilestone.objects.get_or_create(weeks=4, defaults={"points": 100, "badge": badges["on-a-roll"]})
    Event.objects.get_or_create(
        code="spring-tasting",
        defaults=dict(
            name="Spring tasting evening",
            description="Taste the new season's coffees with our roasters. Members only.",
            place="Demo Store, 1 Market Square",
            starts_at=day + timedelta(days=10, hours=18),
            ends_at=day + timedelta(days=10, hours=21),
            capacity=30,
            check_in_opens_at=day + timedelta(days=10, hours=17),
            check_in_closes_at=day + timedelta(days=10, hours=22),
            points=150,
        ),
    )
    Event.objects.get_or_create(
        code="repair-cafe",
        defaults=dict(
            name="Repair café",
            description="Bring a broken gadget; our volunteers help you fix it.",
            place="Harbour Web Shop pick-up point",
            starts_at=day + timedelta(days=24, hours=10),
            ends_at=day + timedelta(days=24, hours=14),
            capacity=12,
            check_in_opens_at=day + timedelta(days=24, hours=9),
            check_in_closes_at=day + timedelta(days=24, hours=15),
            points=100,
        ),
    )
    from members.models import Member

    from .jobs import challenges_recompute_chunk

    last = Member.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    result = challenges_recompute_chunk(as_of=now, first_id=0, last_id=last)
    out.write(
        f"Engagement: {Challenge.objects.count()} challenge(s), {Badge.objects.count()} badge(s), "
        f"{Event.objects.count()} event(s); recomputed: {result.completions} completion(s), "
        f"{result.badges} badge(s)."
    )
