"""Reads of earning used by more than one caller (the portal, the staff pages, the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from members.config import cached
from members.models import Member, Store, Tier

from .models import ActionRule, Activity, Campaign, Referral

# The kept campaigns are those that ended at most this long before they were loaded: a purchase
# dated earlier than that (a late import) reads its campaigns from the database.
KEPT_CAMPAIGNS_HORIZON = timedelta(days=30)


@dataclass(frozen=True)
class ReferralSummary:
    code: str
    rewarded: int
    refused: int
    points: int


@dataclass(frozen=True)
class KeptCampaign:
    campaign: Campaign
    tier_ids: frozenset[int]  # empty: every tier
    store_ids: frozenset[int]  # empty: every store

    def applies(self, *, at: datetime, store: Store, tier: Tier | None) -> bool:
        campaign = self.campaign
        return (
            campaign.starts_at <= at < campaign.ends_at
            and (not self.store_ids or store.pk in self.store_ids)
            and (not self.tier_ids if tier is None else not self.tier_ids or tier.pk in self.tier_ids)
        )


@dataclass(frozen=True)
class KeptCampaigns:
    loaded_at: datetime
    campaigns: tuple[KeptCampaign, ...]


def _load_purchase_campaigns() -> KeptCampaigns:
    now = timezone.now()
    rows = list(
        Campaign.objects.filter(is_active=True, ends_at__gt=now - KEPT_CAMPAIGNS_HORIZON)
        .exclude(kind=Campaign.Kind.SPEND_THRESHOLD)
        .order_by("-priority", "pk")
    )
    ids = [campaign.pk for campaign in rows]
    tier_ids: dict[int, set[int]] = {pk: set() for pk in ids}
    store_ids: dict[int, set[int]] = {pk: set() for pk in ids}
    if ids:
        for campaign_id, tier_id in Campaign.tiers.through.objects.filter(campaign_id__in=ids).values_list(
            "campaign_id", "tier_id"
        ):
            tier_ids[campaign_id].add(tier_id)
        for campaign_id, store_id in Campaign.stores.through.objects.filter(campaign_id__in=ids).values_list(
            "campaign_id", "store_id"
        ):
            store_ids[campaign_id].add(store_id)
    return KeptCampaigns(
        now,
        tuple(
            KeptCampaign(campaign, frozenset(tier_ids[campaign.pk]), frozenset(store_ids[campaign.pk]))
            for campaign in rows
        ),
    )


def campaigns_for_purchase(*, at: datetime, store: Store, tier: Tier | None) -> list[Campaign]:
    """``Campaign.objects.for_purchase``, answered from the campaigns kept per process
    (``members.config``) unless the purchase is dated before what they cover. The campaigns
    are shared: read them, never change them."""
    kept = cached("campaigns.purchase", _load_purchase_campaigns)
    if at < kept.loaded_at - KEPT_CAMPAIGNS_HORIZON:
        return list(Campaign.objects.for_purchase(at=at, store=store, tier=tier))
    return [entry.campaign for entry in kept.campaigns if entry.applies(at=at, store=store, tier=tier)]


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
