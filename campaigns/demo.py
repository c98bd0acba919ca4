"""Demo data for earning: the action rules (program settings), campaigns past, running and
future, and a year of purchases and redemptions for the demo members, recorded through
``purchase_record`` and ``reward_redeem`` at their own dates. Idempotent: rows are found by
natural keys, a purchase or redemption already recorded is left alone."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from members.api_keys import store_get_or_create
from members.demo import DEMO_MEMBERS
from members.jobs import job_run
from members.models import Member, Program, Purchase, Tier
from rewards.models import Redemption, Reward
from rewards.services import reward_redeem, voucher_use

from .inputs import PurchaseInput
from .models import ActionRule, Campaign, Offer, OfferTarget, Segment, SegmentCondition
from .services import campaigns_settle, purchase_record

ACTION_RULES = [
    # kind, name, points, requires approval, limit count, limit period
    (ActionRule.Kind.SIGNUP, "Welcome bonus", 100, False, 1, ActionRule.Period.EVER),
    (ActionRule.Kind.BIRTHDAY, "Birthday bonus", 200, False, 1, ActionRule.Period.YEAR),
    (ActionRule.Kind.REVIEW, "Write a product review", 50, False, 3, ActionRule.Period.MONTH),
    (ActionRule.Kind.SOCIAL_SHARE, "Share us on social media", 25, True, 5, ActionRule.Period.MONTH),
    (ActionRule.Kind.EVENT_ATTENDANCE, "Come to a store event", 150, False, 2, ActionRule.Period.MONTH),
    (ActionRule.Kind.COMMUNITY_POST, "Post in our community forum", 5, False, 3, ActionRule.Period.DAY),
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


CATEGORIES = ["coffee", "apparel", "home", "", "electronics", "coffee", "books"]
# What the demo members redeem, in turn, when their points allow (rewards of seed_program).
REDEEMED = [("free-coffee", 150), ("voucher-5", 500)]
RETURN_WINDOW = timedelta(days=14)


@dataclass(frozen=True)
class PlannedPurchase:
    member: Member
    number: int
    at: datetime
    amount: Decimal
    category: str


@dataclass(frozen=True)
class PlannedRedemption:
    member: Member
    number: int
    reward_code: str


def _purchases(member: Member, now: datetime) -> list[PlannedPurchase]:
    """A member's purchases from the day they joined until yesterday: every one to six weeks
    (the demo member, every two), seeded by their email so every run plans the same."""
    rng = random.Random(member.email)
    regular = member.email == "member@example.com"
    planned, at, number = [], member.enrolled_at + timedelta(days=rng.randint(1, 6)), 1
    while at < now - timedelta(hours=6):
        amount = Decimal(rng.randint(1500, 16000 if regular else 22000)) / 100
        planned.append(PlannedPurchase(member, number, at, amount, rng.choice(CATEGORIES)))
        number += 1
        at += timedelta(days=rng.randint(10, 18) if regular else rng.randint(7, 45), hours=rng.randint(0, 8))
    return planned


def _redemptions(
    members: list[Member], purchases: list[PlannedPurchase], on: datetime, done: dict[int, int]
) -> list[PlannedRedemption]:
    """Who redeems on ``on``: members whose points available by then (a lower bound: one
    point per whole currency unit of purchases past their return window, plus the welcome
    bonus, less what they redeemed before) pay for their next reward. ``done`` counts each
    member's redemptions so far and is updated."""
    planned = []
    for member in members:
        if member.enrolled_at > on:
            continue
        earned = 100 + sum(
            int(p.amount) for p in purchases if p.member == member and p.at + RETURN_WINDOW <= on
        )
        spent = sum(REDEEMED[n % len(REDEEMED)][1] for n in range(done.get(member.pk, 0)))
        code, cost = REDEEMED[done.get(member.pk, 0) % len(REDEEMED)]
        if earned - spent >= cost:
            done[member.pk] = done.get(member.pk, 0) + 1
            planned.append(PlannedRedemption(member, done[member.pk], code))
    return planned


def _price_offer(now) -> None:
    """A reward at a lower price for the demo members: a coffee for 75 points, once activated."""
    coffee = Reward.objects.filter(code="free-coffee").first()
    if coffee is None:
        return
    offer, created = Offer.objects.get_or_create(
        code="coffee-for-less",
        defaults={
            "name": "A coffee for 75 points",
            "description": "Activate it, and your next free coffee costs 75 points instead of 150.",
            "kind": Offer.Kind.REWARD_PRICE,
            "reward": coffee,
            "reward_points": 75,
            "requires_activation": True,
            "days_after_activation": 30,
            "starts_at": now - timedelta(days=2),
            "ends_at": now + timedelta(days=60),
        },
    )
    if created:
        members = Member.objects.filter(email__in=[email for email, *_ in DEMO_MEMBERS])
        OfferTarget.objects.bulk_create([OfferTarget(offer=offer, member=m) for m in members])


def seed_demo(out) -> None:
    """A year of history: every demo member's purchases through ``purchase_record`` at their
    own dates, and once a month the return window's points released (the hourly job, as of
    that day) and rewards redeemed by those who can afford them, so the ledger reads as the
    program would have written it."""
    now = timezone.now()
    with transaction.atomic():
        campaigns = _campaigns(now)
        _price_offer(now)
    store = store_get_or_create(name=DEMO_STORE)
    emails = [email for email, *_ in DEMO_MEMBERS]
    members = list(Member.objects.filter(email__in=emails, status=Member.Status.ACTIVE).order_by("pk"))
    purchases = sorted((p for m in members for p in _purchases(m, now)), key=lambda p: p.at)
    known = set(Purchase.objects.filter(store=store).values_list("external_id", flat=True))
    checkpoints = [now - timedelta(days=30 * months, hours=2) for months in range(11, 0, -1)]
    done: dict[int, int] = {}
    currency = Program.load().currency
    recorded = redeemed = 0
    queue = list(purchases)
    for checkpoint in [*checkpoints, now]:
        # One transaction per month of history: the demo is written in seconds, not one commit per row.
        with transaction.atomic():
            while queue and queue[0].at <= checkpoint:
                p = queue.pop(0)
                external_id = f"demo-{p.member.pk}-{p.number}"
                if external_id in known:
                    continue
                purchase = {
                    "member": p.member.member_number,
                    "external_id": external_id,
                    "amount": str(p.amount),
                    "currency": currency,
                    "purchased_at": p.at,
                }
                if p.category:
                    purchase["lines"] = [{"category": p.category, "amount": str(p.amount)}]
                purchase_record(store=store, purchase=PurchaseInput.parse(purchase), now=p.at)
                recorded += 1
        if checkpoint == now:
            break
        planned = _redemptions(members, purchases, checkpoint, done)
        keys = {f"demo:history:{r.member.pk}:{r.number}" for r in planned}
        if not planned or Redemption.objects.filter(idempotency_key__in=keys).count() == len(keys):
            continue
        job_run(name="release_pending_points", as_of=checkpoint, notify=False)
        with transaction.atomic():
            for r in planned:
                redemption = reward_redeem(
                    member_id=r.member.pk,
                    reward_code=r.reward_code,
                    idempotency_key=f"demo:history:{r.member.pk}:{r.number}",
                    notify=False,
                    now=checkpoint,
                ).redemption
                if redemption.status == Redemption.Status.ISSUED:
                    voucher_use(code=redemption.voucher_code, now=checkpoint + timedelta(days=4))
                redeemed += 1
    job_run(name="release_pending_points", as_of=now, notify=False)
    report = campaigns_settle(as_of=now)
    past = sum(1 for c in campaigns if c.ends_at <= now)
    future = sum(1 for c in campaigns if c.starts_at > now)
    out.write(
        f"Campaigns: {past} past, {len(campaigns) - past - future} running, {future} future; "
        f"{recorded} demo purchase(s) over the last year and {redeemed} redemption(s), "
        f"{report.campaigns} campaign(s) settled."
    )
