"""Demo data for the core: the program's defaults (shared/CONTRACT.md), the tiers, the demo
logins and a few members with history. Idempotent: every row is found or created by a natural
key and every ledger write has a fixed idempotency key."""

from __future__ import annotations

from decimal import Decimal

from allauth.account.models import EmailAddress
from django.db import transaction

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


@transaction.atomic
def _members() -> Member:
    bronze = Tier.objects.get(code="bronze")
    demo_login(*STAFF_LOGIN, is_staff=True, is_superuser=True, first_name="Sam", last_name="Staff")
    member_user = demo_login(*MEMBER_LOGIN, first_name="Maya", last_name="Member")
    member, _ = Member.objects.get_or_create(
        email=MEMBER_LOGIN[0],
        defaults={"first_name": "Maya", "last_name": "Member", "user": member_user, "tier": bronze},
    )
    for email, first, last in [
        ("olivia@example.com", "Olivia", "Osei"),
        ("liam@example.com", "Liam", "Lindqvist"),
        ("noah@example.com", "Noah", "Nakamura"),
    ]:
        Member.objects.get_or_create(
            email=email, defaults={"first_name": first, "last_name": last, "tier": bronze}
        )
    return member


def seed_demo(out) -> None:
    member = _members()
    for other in Member.objects.exclude(pk=member.pk).filter(email__endswith="@example.com"):
        points_credit(
            member_id=other.pk,
            points=100,
            kind=LedgerEntry.Kind.BONUS,
            idempotency_key=f"demo:welcome:{other.email}",
            source_type=LedgerEntry.Source.SYSTEM,
            description="Welcome bonus",
        )
    points_credit(
        member_id=member.pk,
        points=100,
        kind=LedgerEntry.Kind.BONUS,
        idempotency_key=f"demo:welcome:{member.email}",
        source_type=LedgerEntry.Source.SYSTEM,
        description="Welcome bonus",
    )
    out.write("Demo logins:")
    out.write(f"  staff:  {STAFF_LOGIN[0]} / {STAFF_LOGIN[1]}  (admin and /staff/)")
    out.write(f"  member: {MEMBER_LOGIN[0]} / {MEMBER_LOGIN[1]}  (/portal/)")
