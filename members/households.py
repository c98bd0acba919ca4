"""Households: members staff group in admin so they see their balances together. Each member
keeps their own ledger; the household is a shared view, not a shared balance."""

from __future__ import annotations

from dataclasses import dataclass

from .models import HouseholdMember, Member


@dataclass(frozen=True)
class HouseholdView:
    name: str
    members: list[Member]  # everyone in it, the viewer first

    @property
    def points_available(self) -> int:
        return sum(member.points_available for member in self.members)

    @property
    def points_pending(self) -> int:
        return sum(member.points_pending for member in self.members)


def member_household(member: Member) -> HouseholdView | None:
    """The member's household with every member's balances (one query), or None."""
    rows = list(
        HouseholdMember.objects.filter(household__memberships__member=member)
        .select_related("household", "member")
        .order_by("member_id")
    )
    if not rows:
        return None
    members = sorted((row.member for row in rows), key=lambda m: (m.pk != member.pk, m.first_name))
    return HouseholdView(rows[0].household.name, members)
