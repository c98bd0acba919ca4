"""Settling ended campaigns: spend-threshold bonuses, and retroactive campaigns (those created
after purchases in their window, which therefore did not earn them at purchase time).

Set-based: per member-id range, one aggregate query says what each member qualifies for, and
leaves out members already paid. Each payment has an idempotency key per campaign and member,
so a run killed half way and run again pays each member once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from members.errors import MemberInactive, MemberNotFound
from members.jobs import member_id_ranges
from members.ledger.services import points_credit
from members.models import LedgerEntry, Member, Program, Purchase, PurchaseLine

from ..models import Award, Campaign
from ..policy import get_policy
from .purchases import campaign_budget_take

logger = logging.getLogger(__name__)
MONEY = DecimalField(max_digits=14, decimal_places=2)


@dataclass
class SettlementReport:
    campaigns: int = 0
    members: int = 0
    points: int = 0
    settled: list[str] = field(default_factory=list)


def campaigns_due(*, as_of: datetime) -> QuerySet[Campaign]:
    return Campaign.objects.filter(
        Q(kind=Campaign.Kind.SPEND_THRESHOLD) | Q(retroactive=True),
        is_active=True,
        settled_at__isnull=True,
        ends_at__lte=as_of,
    ).order_by("ends_at", "pk")


def _purchases(campaign: Campaign, first_id: int, last_id: int) -> QuerySet[Purchase]:
    qs = Purchase.objects.filter(
        member_id__gte=first_id,
        member_id__lte=last_id,
        member__status=Member.Status.ACTIVE,
        purchased_at__gte=campaign.starts_at,
        purchased_at__lt=campaign.ends_at,
        amount__gte=campaign.min_spend,
        refunded_amount__lt=F("amount"),
    )
    if campaign.kind != Campaign.Kind.SPEND_THRESHOLD:
        # Retroactive: only what was recorded before the campaign existed (the rest earned it live).
        qs = qs.filter(created_at__lt=campaign.created_at)
    store_ids = [s.pk for s in campaign.stores.all()]
    if store_ids:
        qs = qs.filter(store_id__in=store_ids)
    tier_ids = [t.pk for t in campaign.tiers.all()]
    if tier_ids:
        qs = qs.filter(member__tier_id__in=tier_ids)
    return qs


def _line_filter(campaign: Campaign) -> Q | None:
    categories, skus = campaign.category_list, campaign.sku_list
    if not categories and not skus:
        return None
    condition = Q()
    for category in categories:
        condition |= Q(category__iexact=category)
    for sku in skus:
        condition |= Q(sku__iexact=sku)
    return condition


def _spend_by_member(campaign: Campaign, purchases: QuerySet[Purchase]) -> QuerySet:
    """Net spend per member: whole purchases less refunds, or the targeted lines scaled by the
    share of their purchase that was not refunded."""
    lines = _line_filter(campaign)
    if lines is None:
        return purchases.values("member_id").annotate(
            spend=Sum(ExpressionWrapper(F("amount") - F("refunded_amount"), output_field=MONEY)),
            purchases=Count("pk"),
        )
    return (
        PurchaseLine.objects.filter(lines, purchase__in=purchases)
        .values(member_id=F("purchase__member_id"))
        .annotate(
            spend=Sum(
                ExpressionWrapper(
                    F("amount")
                    * (F("purchase__amount") - F("purchase__refunded_amount"))
                    / F("purchase__amount"),
                    output_field=MONEY,
                )
            ),
            purchases=Count("purchase_id", distinct=True),
        )
    )


def _qualifying(campaign: Campaign, program: Program, first_id: int, last_id: int) -> list[tuple[int, int]]:
    """(member id, points) for every member of the range that qualifies and is not yet paid."""
    purchases = _purchases(campaign, first_id, last_id)
    member_ref = "member_id" if _line_filter(campaign) is None else "purchase__member_id"
    paid = Award.objects.filter(
        campaign=campaign, member_id=OuterRef(member_ref), settlement_key__isnull=False
    )
    rows = _spend_by_member(campaign, purchases).exclude(Exists(paid))
    policy = get_policy()
    result: list[tuple[int, int]] = []
    for row in rows:
        spend: Decimal = row["spend"] or Decimal("0")
        if campaign.kind == Campaign.Kind.SPEND_THRESHOLD:
            points = campaign.bonus_points if spend >= campaign.threshold_amount and spend > 0 else 0
        elif campaign.kind in (Campaign.Kind.MULTIPLIER, Campaign.Kind.CATEGORY_MULTIPLIER):
            points = policy.round_points(spend * program.base_earn_rate * (campaign.multiplier - 1))
        elif campaign.kind == Campaign.Kind.FIXED_BONUS:
            points = campaign.bonus_points * row["purchases"]
        else:  # first purchase: members whose first purchase ever falls in the window
            points = campaign.bonus_points
        if points > 0:
            result.append((row["member_id"], points))
    if campaign.kind == Campaign.Kind.FIRST_PURCHASE and result:
        earlier = set(
            Purchase.objects.filter(
                member_id__in=[m for m, _ in result], purchased_at__lt=campaign.starts_at
            ).values_list("member_id", flat=True)
        )
        result = [(m, p) for m, p in result if m not in earlier]
    return result


def campaign_settle_chunk(
    *, campaign: Campaign, program: Program, first_id: int, last_id: int, now: datetime
) -> tuple[int, int]:
    """Pay one member-id range of one campaign; returns (members paid, points paid)."""
    members = points_total = 0
    with transaction.atomic():
        for member_id, wanted in _qualifying(campaign, program, first_id, last_id):
            points = wanted
            if campaign.per_member_cap is not None:
                used = (
                    Award.objects.filter(campaign=campaign, member_id=member_id).aggregate(s=Sum("points"))[
                        "s"
                    ]
                    or 0
                )
                points = min(points, max(campaign.per_member_cap - used, 0))
            points = campaign_budget_take(campaign=campaign, points=points)
            if points <= 0:
                continue
            key = f"campaign:{campaign.pk}:member:{member_id}"
            try:
                with transaction.atomic():
                    points_credit(
                        member_id=member_id,
                        points=points,
                        kind=LedgerEntry.Kind.BONUS,
                        idempotency_key=key,
                        source_type=LedgerEntry.Source.CAMPAIGN,
                        source_id=str(campaign.pk),
                        description=campaign.name,
                        now=now,
                    )
                    Award.objects.create(
                        member_id=member_id,
                        campaign=campaign,
                        source=campaign.source,
                        points=points,
                        settlement_key=key,
                        created_at=now,
                    )
            except (MemberInactive, MemberNotFound):
                continue
            members += 1
            points_total += points
    return members, points_total


def campaigns_settle(
    *, as_of: datetime | None = None, chunk_size: int | None = None, now: datetime | None = None
) -> SettlementReport:
    """Pay every ended threshold or retroactive campaign not yet settled, chunk by chunk."""
    as_of = as_of or timezone.now()
    now = now or as_of
    program = Program.load()
    report = SettlementReport()
    for campaign in campaigns_due(as_of=as_of):
        for first_id, last_id in member_id_ranges(chunk_size):
            members, points = campaign_settle_chunk(
                campaign=campaign, program=program, first_id=first_id, last_id=last_id, now=now
            )
            report.members += members
            report.points += points
        Campaign.objects.filter(pk=campaign.pk, settled_at__isnull=True).update(settled_at=now)
        report.campaigns += 1
        report.settled.append(campaign.code)
        logger.info("Settled campaign %s", campaign.code)
    return report
