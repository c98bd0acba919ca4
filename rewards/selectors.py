"""Reads of the rewards app used by the API, the member portal and the staff pages. Each one is
a fixed number of queries whatever the size of the catalog or the member's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.config import cached
from members.models import Member

from .models import Redemption, Reward
from .pricing import PriceCut, member_price_cuts, plans_running

# Why a member cannot redeem a reward; the codes are the API's error codes.
REASONS = {
    "member_inactive": _("Your membership is not active."),
    "reward_unavailable": _("Not available at this time."),
    "tier_required": _("Needs a higher tier."),
    "plan_required": _("For members of a paid plan."),
    "out_of_stock": _("Out of stock."),
    "limit_reached": _("You already hold as many as one member may."),
    "insufficient_points": _("Not enough points yet."),
}


@dataclass(frozen=True)
class RewardOption:
    """One reward as one member sees it: can they redeem it now, and if not, why."""

    reward: Reward
    reasons: tuple[str, ...]  # codes from REASONS, in the order redeeming checks them
    points_short: int  # how many more available points the member needs (0 when enough)
    held: int  # issued and used vouchers of this reward the member has
    price: int = 0  # what it costs this member now: the catalog's, or a lower one (``price_cut``)
    price_cut: PriceCut | None = None

    @property
    def can_redeem(self) -> bool:
        return not self.reasons

    @property
    def reason(self) -> str:
        """The first reason, as a sentence for a page (empty when it can be redeemed)."""
        return REASONS[self.reasons[0]] if self.reasons else ""


def reward_to_redeem(code: str) -> Reward | None:
    """The active reward with that code, from the rewards kept per process (``members.config``;
    a change in admin reaches the next request). Its stock is not read from here: redeeming
    takes it from the row."""
    return cached("rewards.active", _active_rewards).get(code)


def _active_rewards() -> dict[str, Reward]:
    rewards = Reward.objects.active().select_related("min_tier", "members_of_plan")
    return {reward.code: reward for reward in rewards}


def reward_catalog(*, on: datetime | None = None) -> QuerySet[Reward]:
    """Active rewards whose window is open on ``on``: the API's list, featured first."""
    return Reward.objects.active().in_window(on).select_related("min_tier", "members_of_plan").catalog_order()


def member_reward_options(
    member: Member, *, on: datetime | None = None, rewards: QuerySet[Reward] | None = None
) -> list[RewardOption]:
    """For each active reward (or each of ``rewards``), whether ``member`` can redeem it on
    ``on`` (default now), at what price, and why not. One query, plus one for the member's tier
    unless it was loaded with ``select_related("tier")``, one for their plans when a reward is
    for a plan's members, and what the price sources ask (``rewards.pricing``)."""
    on = on or timezone.now()
    held = (
        Redemption.objects.filter(member=member, reward=OuterRef("pk"), status__in=Redemption.HELD)
        .order_by()
        .values("reward")
        .annotate(n=Count("pk"))
        .values("n")
    )
    rewards = (rewards if rewards is not None else Reward.objects.active().catalog_order()).select_related(
        "min_tier", "members_of_plan"
    )
    rewards = list(rewards.annotate(held=Coalesce(Subquery(held, output_field=IntegerField()), Value(0))))
    member_rank = member.tier.rank if member.tier_id else -1
    plans = plans_running(member, on) if any(r.members_of_plan_id for r in rewards) else set()
    cuts = member_price_cuts(member, rewards, on)
    options = []
    for reward in rewards:
        reasons = []
        if member.status != Member.Status.ACTIVE:
            reasons.append("member_inactive")
        if (
            not reward.is_active
            or not reward.is_in_window(on)
            or (reward.event_starts_at and reward.event_starts_at <= on)
        ):
            reasons.append("reward_unavailable")
        if reward.min_tier is not None and member_rank < reward.min_tier.rank:
            reasons.append("tier_required")
        if reward.members_of_plan_id is not None and reward.members_of_plan_id not in plans:
            reasons.append("plan_required")
        if not reward.in_stock:
            reasons.append("out_of_stock")
        if reward.per_member_limit is not None and reward.held >= reward.per_member_limit:
            reasons.append("limit_reached")
        cut = cuts.get(reward.pk)
        price = cut.points if cut else reward.points_cost
        points_short = max(0, price - member.points_available)
        if points_short:
            reasons.append("insufficient_points")
        options.append(RewardOption(reward, tuple(reasons), points_short, reward.held, price, cut))
    return options


def member_reward_option(member: Member, code: str, *, on: datetime | None = None) -> RewardOption | None:
    """One active reward as ``member`` sees it (the reward's page), or None."""
    options = member_reward_options(member, on=on, rewards=Reward.objects.active().filter(code=code))
    return options[0] if options else None


def member_vouchers(member: Member, *, status: str | None = None) -> QuerySet[Redemption]:
    """The member's vouchers, newest first, with their rewards. ``status`` filters (``issued``
    for those still usable; note an issued one past ``expires_at`` waits for the nightly job)."""
    vouchers = Redemption.objects.filter(member=member).select_related("reward")
    if status:
        vouchers = vouchers.filter(status=status)
    return vouchers.order_by("-created_at", "-id")
