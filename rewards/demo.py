"""Demo data for rewards: the contract's four default rewards (``seed_program``) and a fuller
catalog with a few redemptions for the demo member (``seed_demo``). Idempotent: rewards are
found by code and left as staff edited them, and every redemption and ledger write has a fixed
idempotency key."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from members.ledger.services import points_credit
from members.models import LedgerEntry, Member, MembershipPlan, Tier

from .models import Redemption, Reward
from .services import redemption_cancel, reward_redeem, voucher_use

Kind = Reward.Kind

DEFAULT_REWARDS = [
    {
        "code": "voucher-5",
        "name": "$5 off your next purchase",
        "kind": Kind.FIXED_VOUCHER,
        "category": "Vouchers",
        "points_cost": 500,
        "cash_value": Decimal("5.00"),
        "image": "rewards/voucher-5.svg",
        "is_featured": True,
        "description": "Take $5 off any purchase of $5 or more, in store or online.",
    },
    {
        "code": "voucher-20",
        "name": "$20 off your next purchase",
        "kind": Kind.FIXED_VOUCHER,
        "category": "Vouchers",
        "points_cost": 1800,
        "cash_value": Decimal("20.00"),
        "image": "rewards/voucher-20.svg",
        "description": "Take $20 off any purchase of $20 or more, in store or online.",
    },
    {
        "code": "free-coffee",
        "name": "A free coffee",
        "kind": Kind.FREE_PRODUCT,
        "category": "Food and drink",
        "points_cost": 150,
        "cash_value": Decimal("3.50"),
        "sku": "COFFEE-REG",
        "stock": 100,
        "image": "rewards/free-coffee.svg",
        "is_featured": True,
        "description": "Any regular hot coffee from the café counter.",
    },
    {
        "code": "vip-event",
        "name": "VIP evening",
        "kind": Kind.EXPERIENCE,
        "category": "Experiences",
        "points_cost": 2500,
        "cash_value": Decimal("40.00"),
        "stock": 20,
        "min_tier": "gold",
        "venue": "The flagship store",
        "event_in_days": 60,
        "image": "rewards/vip-event.svg",
        "is_featured": True,
        "description": "An after-hours evening with previews, drinks and a gift bag. 20 seats.",
    },
]

DEMO_REWARDS = [
    {
        "code": "percent-15",
        "name": "15% off one purchase",
        "kind": Kind.PERCENT_VOUCHER,
        "category": "Vouchers",
        "points_cost": 1200,
        "cash_value": Decimal("0.00"),
        "discount_percent": 15,
        "per_member_limit": 1,
        "image": "rewards/percent-15.svg",
        "description": "15% off everything in one basket. One per member.",
    },
    {
        "code": "free-pastry",
        "name": "A free pastry",
        "kind": Kind.FREE_PRODUCT,
        "category": "Food and drink",
        "points_cost": 250,
        "cash_value": Decimal("4.00"),
        "sku": "PASTRY-ANY",
        "stock": 50,
        "image": "rewards/free-pastry.svg",
        "description": "Any pastry from the bakery counter.",
    },
    {
        "code": "tote-bag",
        "name": "Canvas tote bag",
        "kind": Kind.FREE_PRODUCT,
        "category": "Merchandise",
        "points_cost": 900,
        "cash_value": Decimal("15.00"),
        "sku": "TOTE-01",
        "stock": 30,
        "min_tier": "silver",
        "per_member_limit": 2,
        "image": "rewards/tote-bag.svg",
        "description": "A heavy canvas tote with the club's logo. Silver members and up.",
    },
    {
        "code": "tasting-class",
        "name": "Wine tasting class",
        "kind": Kind.EXPERIENCE,
        "category": "Experiences",
        "points_cost": 1500,
        "cash_value": Decimal("30.00"),
        "stock": 12,
        "venue": "The wine cellar",
        "event_in_days": 30,
        "image": "rewards/tasting-class.svg",
        "description": "Six wines, two hours, one sommelier. 12 seats.",
    },
    {
        "code": "plus-lounge",
        "name": "An evening in the members' lounge",
        "kind": Kind.EXPERIENCE,
        "category": "Experiences",
        "points_cost": 400,
        "plan": "plus",
        "per_member_limit": 1,
        "image": "rewards/tasting-class.svg",
        "description": "For Plus members: drinks and a quiet corner, any Friday evening.",
    },
    {
        "code": "early-access",
        "name": "Early access to the winter sale",
        "kind": Kind.EARLY_ACCESS,
        "category": "Early access",
        "points_cost": 300,
        "min_tier": "silver",
        "per_member_limit": 1,
        "available_for_days": 45,
        "image": "rewards/early-access.svg",
        "description": "Shop the winter sale a day before everyone else.",
    },
]


def _ensure(definitions: list[dict]) -> None:
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    tiers = {tier.code: tier for tier in Tier.objects.all()}
    for definition in definitions:
        fields = dict(definition)
        code = fields.pop("code")
        if tier_code := fields.pop("min_tier", None):
            fields["min_tier"] = tiers.get(tier_code)
        if plan_code := fields.pop("plan", None):
            fields["members_of_plan"] = MembershipPlan.objects.filter(code=plan_code).first()
        if days := fields.pop("event_in_days", None):
            fields["event_starts_at"] = (now + timedelta(days=days)).replace(hour=19)
        if days := fields.pop("available_for_days", None):
            fields["available_from"] = now
            fields["available_until"] = now + timedelta(days=days)
        Reward.objects.get_or_create(code=code, defaults=fields)


def seed_program() -> None:
    _ensure(DEFAULT_REWARDS)


@transaction.atomic
def seed_demo(out) -> None:
    _ensure(DEMO_REWARDS)
    member = Member.objects.filter(email="member@example.com").first()
    if member is None:
        return
    points_credit(
        member_id=member.pk,
        points=2500,
        kind=LedgerEntry.Kind.BONUS,
        idempotency_key="demo:rewards:points:member@example.com",
        source_type=LedgerEntry.Source.SYSTEM,
        description="Demo points to spend on rewards",
    )
    redemptions = {}
    for code in ["free-coffee", "voucher-5", "free-pastry"]:
        redemptions[code] = reward_redeem(
            member_id=member.pk, reward_code=code, idempotency_key=f"demo:redeem:{code}", notify=False
        ).redemption
    if redemptions["free-coffee"].status == Redemption.Status.ISSUED:
        voucher_use(code=redemptions["free-coffee"].voucher_code)
    if redemptions["free-pastry"].status == Redemption.Status.ISSUED:
        redemption_cancel(redemption_id=redemptions["free-pastry"].pk, reason="demo")
    count = Redemption.objects.filter(member=member).count()
    out.write(f"Rewards: {Reward.objects.count()} in the catalog; the demo member has {count} redemptions.")
