"""Reads of earning used by more than one caller (the portal, the staff pages, the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from members.config import cached
from members.models import Store, Tier

from .models import ActionRule, Award, Campaign, Offer

# The kept campaigns are those that ended at most this long before they were loaded: a purchase
# dated earlier than that (a late import) reads its campaigns from the database.
KEPT_CAMPAIGNS_HORIZON = timedelta(days=30)


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


@dataclass(frozen=True)
class KeptOffers:
    loaded_at: datetime
    windows: tuple[tuple[datetime, datetime], ...]  # (starts_at, ends_at) of each active offer


def _load_offer_windows() -> KeptOffers:
    now = timezone.now()
    rows = Offer.objects.filter(is_active=True, ends_at__gt=now - KEPT_CAMPAIGNS_HORIZON).values_list(
        "starts_at", "ends_at"
    )
    return KeptOffers(now, tuple(rows))


def offers_may_apply(*, at: datetime) -> bool:
    """Whether any active offer runs at ``at``, answered from the offers kept per process
    (``members.config``): only then does a purchase read the member's offers (one query)."""
    kept = cached("offers.purchase", _load_offer_windows)
    if at < kept.loaded_at - KEPT_CAMPAIGNS_HORIZON:
        return True  # older than what is kept: the member's read decides
    return any(starts_at <= at < ends_at for starts_at, ends_at in kept.windows)


def ways_to_earn() -> list[ActionRule]:
    """The active action rules, for the portal's "ways to earn" page."""
    return list(ActionRule.objects.filter(is_active=True).order_by("kind"))


def plan_points_given(member_id: int, plan_code: str, since: datetime) -> tuple[int, Decimal]:
    """The extra points a paid plan's multiplier gave the member since ``since`` (the
    ``plan:<code>`` awards of their purchases): a plan benefit source for the dashboard."""
    total = Award.objects.filter(
        member_id=member_id, source=f"plan:{plan_code}", created_at__gte=since
    ).aggregate(total=Sum("points"))["total"]
    return total or 0, Decimal("0")
