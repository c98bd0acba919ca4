"""Demo data for the core: the program's defaults (shared/CONTRACT.md), the tiers, the demo
logins and a score of members who joined over the last year, each with a welcome bonus dated
the day they joined (``campaigns.demo`` gives them a year of purchases). Idempotent: every row
is found or created by a natural key and every ledger write has a fixed idempotency key."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from .ledger.services import points_credit
from .models import LedgerEntry, Member, MembershipPlan, Program, Tier, User

STAFF_LOGIN = ("staff@example.com", "demo-staff-2026")
MEMBER_LOGIN = ("member@example.com", "demo-member-2026")

TIERS = [
    # code, name, rank, threshold (qualifying spend), multiplier
    ("bronze", "Bronze", 1, Decimal("0"), Decimal("1.00")),
    ("silver", "Silver", 2, Decimal("500"), Decimal("1.25")),
    ("gold", "Gold", 3, Decimal("1500"), Decimal("1.50")),
    ("platinum", "Platinum", 4, Decimal("5000"), Decimal("2.00")),
]

PLUS_PLAN = {
    "code": "plus",
    "name": "Plus",
    "description": "Gold benefits all year, and half as many points again on every purchase.",
    "price": Decimal("49.00"),
    "term_months": 12,
    "min_tier": "gold",
    "earn_multiplier": Decimal("1.50"),
}


def seed_program() -> None:
    Program.load()
    for code, name, rank, threshold, multiplier in TIERS:
        Tier.objects.update_or_create(
            code=code,
            defaults={"name": name, "rank": rank, "threshold": threshold, "multiplier": multiplier},
        )
    # The paid plan (shared/CONTRACT.md, "Paid memberships"): 49.00 for 12 months, at least
    # gold while it lasts, and x1.5 on top of the tier's multiplier.
    MembershipPlan.objects.update_or_create(
        code=PLUS_PLAN["code"],
        defaults={k: v for k, v in PLUS_PLAN.items() if k != "min_tier"}
        | {"min_tier": Tier.objects.get(code=PLUS_PLAN["min_tier"])},
    )


def demo_login(email: str, password: str, **extra) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, password, **extra)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


# email, first name, last name, days since they joined
DEMO_MEMBERS = [
    (MEMBER_LOGIN[0], "Maya", "Member", 364),
    ("olivia@example.com", "Olivia", "Osei", 358),
    ("liam@example.com", "Liam", "Lindqvist", 300),
    ("noah@example.com", "Noah", "Nakamura", 352),
    ("amara@example.com", "Amara", "Adeyemi", 340),
    ("ben@example.com", "Ben", "Brunner", 331),
    ("chiara@example.com", "Chiara", "Conti", 322),
    ("dario@example.com", "Dario", "Dubois", 298),
    ("elif@example.com", "Elif", "Ekinci", 280),
    ("felix@example.com", "Felix", "Favre", 262),
    ("greta@example.com", "Greta", "Graf", 240),
    ("hugo@example.com", "Hugo", "Huber", 215),
    ("ines@example.com", "Ines", "Imhof", 190),
    ("jonas@example.com", "Jonas", "Jaeger", 160),
    ("katia@example.com", "Katia", "Keller", 130),
    ("luca@example.com", "Luca", "Lombardi", 100),
    ("mia@example.com", "Mia", "Meier", 70),
    ("nils@example.com", "Nils", "Nussbaum", 40),
    ("oriane@example.com", "Oriane", "Olivier", 18),
    ("pia@example.com", "Pia", "Pfister", 6),
]


@transaction.atomic
def _members(now) -> Member:
    bronze = Tier.objects.get(code="bronze")
    demo_login(*STAFF_LOGIN, is_staff=True, is_superuser=True, first_name="Sam", last_name="Staff")
    member_user = demo_login(*MEMBER_LOGIN, first_name="Maya", last_name="Member")
    for email, first, last, days in DEMO_MEMBERS:
        joined = now - timedelta(days=days, hours=3)
        Member.objects.get_or_create(
            email=email,
            defaults={
                "first_name": first,
                "last_name": last,
                "user": member_user if email == MEMBER_LOGIN[0] else None,
                "tier": bronze,
                "enrolled_at": joined,
                "tier_achieved_at": joined,
                "tier_held_until": joined + timedelta(days=Program.load().tier_hold_days),
            },
        )
    return Member.objects.get(email=MEMBER_LOGIN[0])


def _memberships(now) -> None:
    """Two demo members bought Plus: Olivia seven months ago (it runs), Liam four months ago,
    cancelled last month; their history after the purchase earns with the plan's multiplier."""
    from .memberships import membership_cancel, membership_start

    for email, key, days in (
        ("olivia@example.com", "demo-plus-olivia", 210),
        ("liam@example.com", "demo-plus-liam", 120),
    ):
        member = Member.objects.filter(email=email).first()
        if member is None:
            continue
        membership = membership_start(
            store=None, member_number=member.member_number, plan_code="plus", external_id=key,
            now=now - timedelta(days=days),
        ).membership  # fmt: skip
        if email == "liam@example.com" and membership.status == "active":
            membership_cancel(membership_id=membership.pk, store=None, now=now - timedelta(days=30))


def seed_demo(out) -> None:
    now = timezone.now()
    _members(now)
    emails = [email for email, *_ in DEMO_MEMBERS]
    for member in Member.objects.filter(email__in=emails).order_by("enrolled_at"):
        points_credit(
            member_id=member.pk,
            points=100,
            kind=LedgerEntry.Kind.BONUS,
            idempotency_key=f"demo:welcome:{member.email}",
            source_type=LedgerEntry.Source.SYSTEM,
            description="Welcome bonus",
            earned_at=member.enrolled_at,
            now=min(member.enrolled_at, now),
        )
    _memberships(now)
    out.write("Demo logins:")
    out.write(f"  staff:  {STAFF_LOGIN[0]} / {STAFF_LOGIN[1]}  (admin and /staff/)")
    out.write(f"  member: {MEMBER_LOGIN[0]} / {MEMBER_LOGIN[1]}  (/portal/)")
