"""Demo data for earning: the action rules (program settings), campaigns past, running and
future, and purchase history for the demo members recorded through ``purchase_record``.
Idempotent: rows are found by natural keys, a purchase already recorded is left alone."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from members.api_keys import store_get_or_create
from members.models import Member, Purchase, Tier

from .inputs import PurchaseInput
from .models import ActionRule, Campaign, Offer, Segment, SegmentCondition
from .services import campaigns_settle, purchase_record

ACTION_RULES = [
    # kind, name, points, requires approval, limit count, limit period
    (ActionRule.Kind.SIGNUP, "Welcome bonus", 100, False, 1, ActionRule.Period.EVER),
    (ActionRule.Kind.BIRTHDAY, "Birthday bonus", 200, False, 1, ActionRule.Period.YEAR),
    (ActionRule.Kind.REVIEW, "Write a product review", 50, False, 3, ActionRule.Period.MONTH),
    (ActionRule.Kind.SOCIAL_SHARE, "Share us on social media", 25, True, 5, ActionRule.Period.MONTH),
    (ActionRule.Kind.EVENT_ATTENDANCE, "Come to a store event", 150, False, 2, ActionRule.Period.MONTH),
    (ActionRule.Kind.REFERRAL_REFERRER, "Refer a friend", 250, False, None, ActionRule.Period.MONTH),
    (ActionRule.Kind.REFERRAL_REFERRED, "Joined through a friend", 100, False, None, ActionRule.Period.EVER),
]

DEMO_STORE = "Demo Store"


def seed_program() -> None:
    for kind, name, points, approval, limit, period in ACTION_RULES:
        ActionRule.objects.get_or_create(
            kind=kind,
            defaults={
                "name": name,
                "points": points,
                "requires_approval": approval,
                "limit_count": limit,
                "limit_period": period,
            },
        )
    seed_offers()


def seed_offers() -> None:
    """The contract's defaults: segment ``lapsed`` (at least one purchase, none in the last 60
    days) and its offer ``come-back`` (activate it, then the next purchase within 30 days earns
    its base points twice, once)."""
    lapsed, created = Segment.objects.get_or_create(
        code="lapsed",
        defaults={"name": "Lapsed", "description": "At least one purchase, none in the last 60 days."},
    )
    if created:
        PURCHASES = SegmentCondition.Field.PURCHASES
        SegmentCondition.objects.bulk_create(
            [
                # at least one purchase ever, and none in the last 60 days
                SegmentCondition(segment=lapsed, field=PURCHASES, operator="gte", number=1),
                SegmentCondition(segment=lapsed, field=PURCHASES, operator="lte", number=0, days=60),
            ]
        )
    now = timezone.now()
    Offer.objects.get_or_create(
        code="come-back",
        defaults={
            "name": "Come back: double points",
            "description": "Activate it, then your next purchase within 30 days earns its base points twice.",
            "kind": Offer.Kind.MULTIPLIER,
            "segment": lapsed,
            "multiplier": Decimal("2"),
            "requires_activation": True,
            "days_after_activation": 30,
            "uses_per_member": 1,
            "starts_at": now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1),
            "ends_at": now + timedelta(days=3650),
        },
    )


def _campaigns(now) -> list[Campaign]:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    specs = [
        # past
        dict(
            code="spring-double-points",
            name="Spring double points",
            kind=Campaign.Kind.MULTIPLIER,
            multiplier=Decimal("2"),
            starts_at=day - timedelta(days=75),
            ends_at=day - timedelta(days=40),
            priority=10,
        ),
        dict(
            code="spend-200-spring",
            name="Spend $200 in spring, get 300 points",
            kind=Campaign.Kind.SPEND_THRESHOLD,
            bonus_points=300,
            threshold_amount=Decimal("200"),
            starts_at=day - timedelta(days=75),
            ends_at=day - timedelta(days=40),
        ),
        # running
        dict(
            code="coffee-triple",
            name="Triple points on coffee",
            kind=Campaign.Kind.CATEGORY_MULTIPLIER,
            multiplier=Decimal("3"),
            categories="coffee",
            starts_at=day - timedelta(days=20),
            ends_at=day + timedelta(days=40),
            priority=20,
            per_member_cap=2000,
        ),
        dict(
            code="first-purchase-bonus",
            name="First purchase bonus",
            kind=Campaign.Kind.FIRST_PURCHASE,
            bonus_points=150,
            starts_at=day - timedelta(days=365),
            ends_at=day + timedelta(days=365),
            budget_points=100000,
        ),
        dict(
            code="weekend-50-bonus",
            name="50 bonus points on purchases over $50",
            kind=Campaign.Kind.FIXED_BONUS,
            bonus_points=50,
            min_spend=Decimal("50"),
            starts_at=day - timedelta(days=10),
            ends_at=day + timedelta(days=20),
        ),
        # future
        dict(
            code="holiday-double-points",
            name="Holiday double points",
            kind=Campaign.Kind.MULTIPLIER,
            multiplier=Decimal("2"),
            starts_at=day + timedelta(days=30),
            ends_at=day + timedelta(days=45),
            priority=10,
            budget_points=500000,
        ),
    ]
    campaigns = []
    for spec in specs:
        code = spec.pop("code")
        campaign, _ = Campaign.objects.get_or_create(
            code=code, defaults={**spec, "created_at": day - timedelta(days=90)}
        )
        campaigns.append(campaign)
    gold = Tier.objects.filter(code="gold").first()
    vip, created = Campaign.objects.get_or_create(
        code="gold-members-bonus",
        defaults=dict(
            name="Gold and above: 100 bonus points",
            kind=Campaign.Kind.FIXED_BONUS,
            bonus_points=100,
            starts_at=day - timedelta(days=5),
            ends_at=day + timedelta(days=60),
        ),
    )
    if created and gold:
        vip.tiers.set(Tier.objects.filter(rank__gte=gold.rank))
    return [*campaigns, vip]


# member email -> (days ago, amount, category) of each demo purchase
HISTORY = {
    "member@example.com": [
        (60, "180.00", "apparel"),
        (50, "45.50", "coffee"),
        (12, "72.00", "coffee"),
        (3, "24.90", ""),
    ],
    "olivia@example.com": [(55, "320.00", "home"), (8, "640.00", "electronics")],
    "liam@example.com": [(2, "19.99", "coffee")],
    "noah@example.com": [(70, "90.00", ""), (25, "130.00", "apparel")],
}


def seed_demo(out) -> None:
    now = timezone.now()
    with transaction.atomic():
        campaigns = _campaigns(now)
    store = store_get_or_create(name=DEMO_STORE)
    recorded = 0
    for email, purchases in HISTORY.items():
        member = Member.objects.filter(email=email).first()
        if member is None:
            continue
        for n, (days_ago, amount, category) in enumerate(purchases, start=1):
            external_id = f"demo-{member.pk}-{n}"
            if Purchase.objects.filter(store=store, external_id=external_id).exists():
                continue
            purchase = {
                "member": member.member_number,
                "external_id": external_id,
                "amount": amount,
                "currency": "USD",
                "purchased_at": now - timedelta(days=days_ago, hours=n),
            }
            if category:
                purchase["lines"] = [{"category": category, "amount": amount}]
            purchase_record(store=store, purchase=PurchaseInput.parse(purchase), now=now)
            recorded += 1
    report = campaigns_settle(as_of=now)
    past = sum(1 for c in campaigns if c.ends_at <= now)
    future = sum(1 for c in campaigns if c.starts_at > now)
    out.write(
        f"Campaigns: {past} past, {len(campaigns) - past - future} running, {future} future; "
        f"{recorded} demo purchase(s) recorded, {report.campaigns} campaign(s) settled."
    )
