"""Reads of earning used by more than one caller (the portal, the staff pages, the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from members.models import Member

from .models import ActionRule, Activity, Campaign, Referral


@dataclass(frozen=True)
class ReferralSummary:
    code: str
    rewarded: int
    refused: int
    points: int


def ways_to_earn() -> list[ActionRule]:
    """The active action rules, for the portal's "ways to earn" page."""
    return list(ActionRule.objects.filter(is_active=True).order_by("kind"))


def campaigns_on_offer(*, now: datetime | None = None, member: Member | None = None) -> QuerySet[Campaign]:
    """Campaigns running now or starting later, for the member's tier when one is given."""
    now = now or timezone.now()
    campaigns = Campaign.objects.filter(is_active=True, ends_at__gt=now)
    if member is not None:
        campaigns = campaigns.filter(Q(tiers__isnull=True) | Q(tiers=member.tier_id)).distinct()
    return campaigns.order_by("starts_at", "-priority")


def member_activities(member: Member, *, limit: int = 20) -> QuerySet[Activity]:
    return member.activities.select_related("rule").order_by("-created_at")[:limit]


def member_referral_summary(member: Member) -> ReferralSummary:
    """The member's referral code and how their referrals went (one query)."""
    totals = Referral.objects.filter(referrer=member).aggregate(
        rewarded=Count("pk", filter=Q(status=Referral.Status.REWARDED)),
        refused=Count("pk", filter=Q(status=Referral.Status.REFUSED)),
        points=Sum("referrer_points"),
    )
    return ReferralSummary(member.referral_code, totals["rewarded"], totals["refused"], totals["points"] or 0)
