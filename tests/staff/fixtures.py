"""A small program whose figures were worked out by hand (see test_reports.py).

As of 2026-06-15 12:00 UTC: members A (bronze), B (silver), C (gold, inactive) and D (closed).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from campaigns.models import Award, Campaign
from members.jobs.points import expire_lots_chunk
from members.ledger.services import points_credit, points_debit, points_restore, points_reverse
from members.models import LedgerEntry, Member, Purchase, Tier, TierChange
from rewards.models import Redemption, Reward
from tests import factories

AS_OF = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
Kind, Source = LedgerEntry.Kind, LedgerEntry.Source


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 10, 0, tzinfo=UTC)


def build_known_program(staff_user, second_staff_user) -> dict[str, Member]:
    from loyalty_site.staff.services import adjustment_request

    tiers = {tier.code: tier for tier in Tier.objects.all()}
    a = factories.MemberFactory(email="a@example.org", tier=tiers["bronze"], enrolled_at=at(6, 1))
    b = factories.MemberFactory(email="b@example.org", tier=tiers["silver"], enrolled_at=at(1, 5))
    c = factories.MemberFactory(email="c@example.org", tier=tiers["gold"], enrolled_at=at(4, 1, 2025))
    factories.MemberFactory(
        email="d@example.org", tier=tiers["bronze"], status=Member.Status.CLOSED, enrolled_at=at(6, 2)
    )

    def credit(member, points, key, when, *, kind=Kind.EARN, available_at=None, earned_at=None):
        points_credit(
            member_id=member.pk, points=points, idempotency_key=key, source_type=Source.PURCHASE,
            source_id=key, kind=kind, available_at=available_at, earned_at=earned_at, now=when,
        )  # fmt: skip

    # C: 80 points earned 2025-05-01 expire on 2026-05-01 (the job runs on 2026-05-02); 400 more.
    credit(c, 80, "c-old", at(5, 1, 2025))
    credit(c, 400, "c-nov", at(11, 20, 2025))
    expire_lots_chunk(as_of=at(5, 2), first_id=c.pk, last_id=c.pk)
    # B: a 500 bonus, then 200 pending from a purchase of which 50 are reversed by a refund.
    credit(b, 500, "b-bonus", at(4, 3), kind=Kind.BONUS)
    credit(b, 200, "b-jun", at(6, 10), available_at=at(6, 24))
    points_reverse(
        member_id=b.pk, source_type=Source.PURCHASE, source_id="b-jun", points=50,
        idempotency_key="b-jun-refund", now=at(6, 12),
    )  # fmt: skip
    # A: 1000 earned, 300 redeemed, 100 redeemed and given back (a cancelled voucher).
    credit(a, 1000, "a-may", at(5, 10))
    points_debit(
        member_id=a.pk, points=300, idempotency_key="r1", source_type=Source.REDEMPTION, source_id="r1",
        now=at(6, 1),
    )  # fmt: skip
    points_debit(
        member_id=a.pk, points=100, idempotency_key="r2", source_type=Source.REDEMPTION, source_id="r2",
        now=at(6, 4),
    )  # fmt: skip
    points_restore(
        member_id=a.pk,
        source_type=Source.REDEMPTION,
        source_id="r2",
        idempotency_key="r2-cancel",
        now=at(6, 5),
    )
    # Staff adjustments: +25 for A, -20 for B.
    adjustment_request(member_id=a.pk, points=25, reason="Goodwill", requested_by=staff_user, now=at(6, 2))
    adjustment_request(member_id=b.pk, points=-20, reason="Duplicate", requested_by=staff_user, now=at(6, 3))

    # Tier history: B went up to gold and back down to silver; C climbed twice.
    for member, old, new, when in [
        (a, None, "bronze", at(6, 1)),  # enrolment: not a move
        (b, "bronze", "gold", at(2, 1)),
        (b, "gold", "silver", at(4, 3)),
        (c, "bronze", "silver", at(12, 1, 2025)),
        (c, "silver", "gold", at(1, 10)),
        (c, None, "bronze", at(4, 1, 2025)),
        (b, "bronze", "silver", at(1, 6, 2025)),  # more than 12 months ago
    ]:
        TierChange.objects.create(
            member=member,
            from_tier=tiers[old] if old else None,
            to_tier=tiers[new],
            reason=TierChange.Reason.REQUALIFICATION,
            created_at=when,
        )

    # Purchases around the campaigns (program-wide spend).
    store = factories.StoreFactory(name="High Street", code="high-street")
    for member, external_id, amount, refunded, when in [
        (a, "p1", "100.00", "0", at(5, 10)),
        (b, "p2", "60.00", "10.00", at(5, 20)),
        (b, "p3", "40.00", "0", at(4, 15)),
        (c, "p4", "999.00", "0", at(3, 20)),
        (a, "p5", "20.00", "0", at(6, 12)),
    ]:
        Purchase.objects.create(
            member=member, store=store, external_id=external_id, amount=Decimal(amount), currency="USD",
            purchased_at=when, available_at=when + timedelta(days=14), refunded_amount=Decimal(refunded),
        )  # fmt: skip
    spring = Campaign.objects.create(
        code="spring", name="Spring double", kind=Campaign.Kind.MULTIPLIER, multiplier=Decimal("2"),
        starts_at=datetime(2026, 5, 1, tzinfo=UTC), ends_at=datetime(2026, 5, 31, tzinfo=UTC),
    )  # fmt: skip
    Campaign.objects.create(
        code="summer", name="Summer bonus", kind=Campaign.Kind.FIXED_BONUS, bonus_points=10,
        starts_at=datetime(2026, 6, 10, tzinfo=UTC), ends_at=datetime(2026, 6, 30, tzinfo=UTC),
    )  # fmt: skip
    Campaign.objects.create(
        code="autumn", name="Autumn", kind=Campaign.Kind.FIXED_BONUS, bonus_points=10,
        starts_at=datetime(2026, 9, 1, tzinfo=UTC), ends_at=datetime(2026, 9, 30, tzinfo=UTC),
    )  # fmt: skip
    for member, points in [(a, 30), (b, 20), (a, 5)]:
        Award.objects.create(member=member, campaign=spring, source="campaign:spring", points=points)

    # Rewards: voucher-5 redeemed three times (one cancelled), a coffee used, an event expired and
    # given back.
    voucher = Reward.objects.create(
        code="voucher-5", name="$5 off", kind="fixed_voucher", points_cost=500, cash_value=Decimal("5")
    )
    coffee = Reward.objects.create(
        code="free-coffee", name="Free coffee", kind="free_product", points_cost=150
    )
    event = Reward.objects.create(code="vip-event", name="VIP event", kind="experience", points_cost=2500)
    Reward.objects.create(code="never", name="Never redeemed", kind="free_product", points_cost=10)
    S = Redemption.Status
    for member, reward, status, spent, returned, cash in [
        (a, voucher, S.ISSUED, 500, 0, "5"),
        (b, voucher, S.USED, 500, 0, "5"),
        (c, voucher, S.CANCELLED, 500, 500, "5"),
        (a, coffee, S.USED, 150, 0, "0"),
        (c, event, S.EXPIRED, 2500, 2500, "0"),
    ]:
        Redemption.objects.create(
            member=member, reward=reward, status=status, points_spent=spent, points_returned=returned,
            cash_value=Decimal(cash), expires_at=AS_OF + timedelta(days=30),
            used_at=AS_OF if status == S.USED else None,
        )  # fmt: skip
    return {"a": a, "b": b, "c": c}


def build_busy_program(*, now: datetime, members: int = 60, seed: int = 7) -> None:
    """A year of plausible activity for screenshots: purchases, points, redemptions, expiry,
    tier moves, two campaigns and a few rewards (seeded, so every run looks the same)."""
    import random

    from members.jobs.points import expire_lots_chunk, release_pending_chunk

    rng = random.Random(seed)
    tiers = list(Tier.objects.order_by("rank"))
    store = factories.StoreFactory(name="Main Street", code="main-street")
    rewards = [
        Reward.objects.create(code=code, name=name, kind=kind, points_cost=cost, cash_value=Decimal(cash))
        for code, name, kind, cost, cash in [
            ("voucher-5", "$5 off", "fixed_voucher", 500, "5"),
            ("voucher-20", "$20 off", "fixed_voucher", 1800, "20"),
            ("free-coffee", "Free coffee", "free_product", 150, "3"),
            ("vip-event", "VIP evening", "experience", 2500, "0"),
        ]
    ]
    spring = Campaign.objects.create(
        code="spring-double", name="Spring double points", kind=Campaign.Kind.MULTIPLIER,
        multiplier=Decimal("2"), starts_at=now - timedelta(days=200), ends_at=now - timedelta(days=170),
    )  # fmt: skip
    Campaign.objects.create(
        code="autumn-bonus", name="Autumn bonus", kind=Campaign.Kind.FIXED_BONUS, bonus_points=50,
        starts_at=now - timedelta(days=20), ends_at=now + timedelta(days=10),
    )  # fmt: skip
    for n in range(members):
        tier = tiers[min(int(rng.expovariate(1.2)), len(tiers) - 1)]
        member = factories.MemberFactory(
            email=f"shopper{n}@example.org", tier=tier, enrolled_at=now - timedelta(days=rng.randint(5, 500))
        )
        for p in range(rng.randint(1, 6)):
            days_ago = rng.randint(0, 420)
            when = now - timedelta(days=days_ago, hours=rng.randint(0, 20))
            amount = Decimal(rng.randint(800, 24000)) / 100
            key = f"busy-{n}-{p}"
            Purchase.objects.create(
                member=member, store=store, external_id=key, amount=amount, currency="USD", purchased_at=when,
                available_at=when + timedelta(days=14), points_awarded=int(amount),
            )  # fmt: skip
            points_credit(
                member_id=member.pk, points=int(amount) * 3, idempotency_key=key, source_type=Source.PURCHASE,
                source_id=key, available_at=when + timedelta(days=14), now=when, earned_at=when,
            )  # fmt: skip
            if spring.starts_at <= when < spring.ends_at:
                Award.objects.create(
                    member=member, campaign=spring, source="campaign:spring", points=int(amount)
                )
        if tier.rank > tiers[0].rank:
            TierChange.objects.create(
                member=member, from_tier=tiers[0], to_tier=tier, reason=TierChange.Reason.PURCHASE,
                created_at=now - timedelta(days=rng.randint(0, 330)),
            )  # fmt: skip
        if rng.random() < 0.12 and tier.rank > tiers[1].rank:
            TierChange.objects.create(
                member=member, from_tier=tier, to_tier=tiers[1], reason=TierChange.Reason.REQUALIFICATION,
                created_at=now - timedelta(days=rng.randint(0, 200)),
            )  # fmt: skip
    release_pending_chunk(as_of=now, first_id=0, last_id=Member.objects.order_by("-id").first().pk)
    used = Redemption.Status.USED
    for n, member in enumerate(Member.objects.filter(email__startswith="shopper").order_by("id")):
        balance = member.points_available
        for r in range(rng.randint(0, 3)):
            reward = rng.choice(rewards[:3] if r else rewards[:2])
            if balance < reward.points_cost:
                continue
            balance -= reward.points_cost
            when = now - timedelta(days=rng.randint(0, 300))
            key = f"busy-r-{n}-{r}"
            points_debit(
                member_id=member.pk, points=reward.points_cost, idempotency_key=key,
                source_type=Source.REDEMPTION, source_id=key, now=when,
            )  # fmt: skip
            status = rng.choice([Redemption.Status.ISSUED, used, used])
            Redemption.objects.create(
                member=member, reward=reward, points_spent=reward.points_cost, cash_value=reward.cash_value,
                status=status, used_at=when if status == used else None, expires_at=when + timedelta(days=90),
            )  # fmt: skip
    for months_back in range(11, -1, -1):
        as_of = now - timedelta(days=30 * months_back)
        first = Member.objects.order_by("id").first()
        last = Member.objects.order_by("-id").first()
        expire_lots_chunk(as_of=as_of, first_id=first.pk, last_id=last.pk)
