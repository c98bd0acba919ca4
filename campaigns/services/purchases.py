"""Recording purchases and refunds: the points they earn or claw back, campaign awards, the
immediate tier upgrade and the referral reward on a member's first purchase.

Every credit of a purchase (the base rate with the tier multiplier, and each campaign's bonus)
is a ledger entry with source ``purchase`` and the purchase's id, so a refund reverses them all
with one ``points_reverse``.

A purchase is the hot path (every till, every sale), so it is written as few statements as the
rules allow, in one transaction without savepoints: the member row locked together with the
look-up of the external id (``record_once``); one read of what the rules need to know about
the member (their first purchase?, their qualifying value, what capped campaigns gave them);
the purchase with its lines and awards; the ledger's entries, lots and balances. The program,
the tiers and the campaigns come from the copies each process keeps (``members.config``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from members import config
from members.errors import InvalidRequest, MemberInactive, MemberNotFound
from members.ledger.services import Credit, points_credit, points_credit_locked, points_reverse
from members.locks import lock_member
from members.models import LedgerEntry, Member, Program, Purchase, PurchaseLine, Refund, Store, Tier
from members.tiers import qualification_window_start, qualifying_value_subquery, tier_upgrade_if_qualified

from ..engine import Applicator, PurchaseContext
from ..errors import DuplicateExternalId, PurchaseNotFound, RefundExceedsPurchase
from ..inputs import PurchaseInput, payload_digest
from ..models import ActionRule, Award, Campaign, Referral
from ..policy import get_policy
from ..selectors import campaigns_for_purchase
from .replays import KeyTaken, insert_keyed, record_once

Kind = LedgerEntry.Kind
Source = LedgerEntry.Source
CENT = Decimal("0.01")
# A purchase may be stamped a little ahead of our clock (tills drift), not more.
CLOCK_SKEW = timedelta(minutes=5)
# What a replay answers with, read with the member's lock.
REPLAY_FIELDS = ("id", "external_id", "amount", "currency", "purchased_at", "available_at",
                 "points_awarded", "payload_digest", "created_at")  # fmt: skip


@dataclass(frozen=True)
class PurchaseOutcome:
    purchase: Purchase
    awards: list[Award]
    created: bool  # False on a replay of the same request


@dataclass(frozen=True)
class RefundOutcome:
    refund: Refund
    purchase: Purchase
    created: bool


def _money(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidRequest(fields={field: ["A decimal amount."]}) from None
    if (
        not amount.is_finite()
        or amount <= 0
        or amount != amount.quantize(CENT)
        or amount >= Decimal(10) ** 10
    ):
        raise InvalidRequest(fields={field: ["An amount above zero with at most 2 decimal places."]})
    return amount.quantize(CENT)


class _Granter:
    """How many points a campaign may still give this member: its per-member cap (what the
    member already had from each capped campaign was read with the member's facts), then its
    total budget, taken with a conditional UPDATE so concurrent purchases never overspend."""

    def __init__(self, used: dict[int, int]):
        self.used = used

    def __call__(self, campaign: Campaign, points: int) -> int:
        if campaign.per_member_cap is not None:
            points = min(points, max(campaign.per_member_cap - self.used.get(campaign.pk, 0), 0))
        return campaign_budget_take(campaign=campaign, points=points)


def campaign_budget_take(*, campaign: Campaign, points: int) -> int:
    """Take up to ``points`` from the campaign's budget; returns how many were taken."""
    if points <= 0:
        return 0
    if campaign.budget_points is None:
        return points
    while points > 0:
        taken = Campaign.objects.filter(pk=campaign.pk, spent_points__lte=F("budget_points") - points).update(
            spent_points=F("spent_points") + points
        )
        if taken:
            return points
        row = Campaign.objects.filter(pk=campaign.pk).values("budget_points", "spent_points").first()
        if row is None or row["budget_points"] is None:
            return 0 if row is None else points
        points = min(points, row["budget_points"] - row["spent_points"])
    return 0


def purchase_record(*, store: Store, purchase: PurchaseInput, now: datetime | None = None) -> PurchaseOutcome:
    """Record a store's sale and credit its points, pending through the return window.

    The same ``external_id`` from the same store again is a replay (the first outcome, nothing
    new); with a different payload it is ``DuplicateExternalId``.
    """
    now = now or timezone.now()
    digest = purchase.digest
    return record_once(
        lock=lambda: _lock_member(store, purchase),
        replay=lambda locked: _replay(store, purchase.external_id, digest, locked),
        record=lambda locked: _record(store, purchase, digest, locked.member, now),
    )


@dataclass(frozen=True)
class _Locked:
    member: Member
    earlier: Purchase | None  # this store's purchase with the same external id


def _lock_member(store: Store, purchase: PurchaseInput) -> _Locked:
    """The member row, locked, with the store's purchase under the same external id if there is
    one: one statement. (One row is locked, so lock order does not arise.)"""
    earlier = FilteredRelation(
        "purchases", condition=Q(purchases__store=store, purchases__external_id=purchase.external_id)
    )
    member = (
        Member.objects.select_for_update(of=("self",))
        .annotate(earlier=earlier)
        .annotate(**{f"earlier_{name}": F(f"earlier__{name}") for name in REPLAY_FIELDS})
        .filter(member_number=purchase.member)
        .first()
    )
    if member is None:
        raise MemberNotFound()
    if member.earlier_id is None:
        return _Locked(member, None)
    fields = {name: getattr(member, f"earlier_{name}") for name in REPLAY_FIELDS}
    return _Locked(member, Purchase(member=member, store=store, **fields))


def _replay(store: Store, external_id: str, digest: str, locked: _Locked | None) -> PurchaseOutcome | None:
    if locked is not None:
        earlier = locked.earlier
    else:
        earlier = (
            Purchase.objects.filter(store=store, external_id=external_id).select_related("member").first()
        )
    if earlier is None:
        return None
    if earlier.payload_digest != digest:
        raise DuplicateExternalId()
    awards = list(Award.objects.filter(purchase_id=earlier.pk).order_by("position"))
    return PurchaseOutcome(earlier, awards, created=False)


@dataclass(frozen=True)
class _MemberFacts:
    is_first_purchase: bool
    qualifying_value: Decimal | None  # before this purchase; None on the top tier (not read)
    cap_used: dict[int, int]  # campaign id -> points the member already had from it


def _member_facts(
    member: Member, *, tier: Tier | None, campaigns: list[Campaign], program: Program, now: datetime
) -> _MemberFacts:
    """What the rules need to know about the member, in one query (none when nothing is
    needed). Read under the member's lock, so no other purchase of theirs can change it."""
    wanted = {}
    if campaigns or member.referred_by_id:
        wanted["has_purchases"] = Exists(Purchase.objects.filter(member=OuterRef("pk")))
    if config.tiers().above(tier) is not None:
        wanted["qualifying_value"] = qualifying_value_subquery(program, as_of=now)
    capped = [campaign.pk for campaign in campaigns if campaign.per_member_cap is not None]
    for campaign_id in capped:
        given = Award.objects.filter(member=OuterRef("pk"), campaign_id=campaign_id)
        wanted[f"cap_{campaign_id}"] = Subquery(
            given.values("member").annotate(total=Sum("points")).values("total")
        )
    row = Member.objects.filter(pk=member.pk).values(**wanted).first() if wanted else {}
    return _MemberFacts(
        is_first_purchase="has_purchases" in row and not row["has_purchases"],
        qualifying_value=Decimal(row["qualifying_value"] or 0) if "qualifying_value" in row else None,
        cap_used={campaign_id: row[f"cap_{campaign_id}"] or 0 for campaign_id in capped},
    )


def _record(
    store: Store, purchase: PurchaseInput, digest: str, member: Member, now: datetime
) -> PurchaseOutcome:
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive()
    purchase.check_lines_add_up()
    program = config.program()
    if purchase.currency != program.currency:
        raise InvalidRequest(fields={"currency": [f"The program's currency is {program.currency}."]})
    if purchase.purchased_at > now + CLOCK_SKEW:
        raise InvalidRequest(fields={"purchased_at": ["A purchase cannot be in the future."]})
    if purchase.purchased_at < now - timedelta(days=3650):
        raise InvalidRequest(fields={"purchased_at": ["Too far in the past."]})
    tier = config.tiers().get(member.tier_id)
    campaigns = campaigns_for_purchase(at=purchase.purchased_at, store=store, tier=tier)
    facts = _member_facts(member, tier=tier, campaigns=campaigns, program=program, now=now)
    context = PurchaseContext(
        amount=purchase.amount,
        lines=purchase.line_inputs,
        base_rate=program.base_earn_rate,
        tier_multiplier=tier.multiplier if tier else Decimal("1"),
        tier_code=tier.code if tier else "",
        is_first_purchase=facts.is_first_purchase,
        policy=get_policy(),
    )
    result = Applicator(grant=_Granter(facts.cap_used)).apply(context, campaigns)

    recorded = Purchase(
        member=member,
        store=store,
        external_id=purchase.external_id,
        amount=purchase.amount,
        currency=purchase.currency,
        purchased_at=purchase.purchased_at,
        available_at=purchase.purchased_at + timedelta(days=program.return_window_days),
        points_awarded=result.points,
        payload_digest=digest,
        created_at=now,
    )
    lines = [
        PurchaseLine(
            sku=line.input.sku,
            category=line.input.category,
            quantity=line.input.quantity,
            amount=line.input.amount,
            points_awarded=line.points,
        )
        for line in result.lines
    ]
    awards = [
        Award(
            member=member,
            campaign=award.campaign,
            source=award.source,
            points=award.points,
            position=position,
            created_at=now,
        )
        for position, award in enumerate(result.awards)
    ]
    _insert_purchase(recorded, lines, awards)

    credits = []
    earned = sum(award.points for award in result.awards if award.campaign is None)
    if earned > 0:
        description = f"Purchase {purchase.external_id} at {store.name}"
        credits.append(Credit(earned, f"purchase:{recorded.pk}", Kind.EARN, description[:255]))
    bonuses = [award for award in result.awards if award.campaign is not None]
    if bonuses:
        # One entry for every campaign's points (the awards keep the breakdown), so the
        # number of statements does not grow with the number of campaigns.
        names = ", ".join(award.campaign.name for award in bonuses)
        credits.append(
            Credit(
                sum(award.points for award in bonuses),
                f"purchase:{recorded.pk}:campaigns",
                Kind.BONUS,
                f"{names} (purchase {purchase.external_id})"[:255],
            )
        )
    if credits:
        points_credit_locked(
            member=member,
            credits=credits,
            source_type=Source.PURCHASE,
            source_id=str(recorded.pk),
            earned_at=purchase.purchased_at,
            available_at=recorded.available_at,
            now=now,
        )

    # After the points: this purchase earned at the tier the member had when they bought.
    if facts.qualifying_value is not None:
        value = facts.qualifying_value + _qualifying_gain(purchase, result.points, program, now)
        tier_upgrade_if_qualified(member, now=now, value=value)
    if facts.is_first_purchase and member.referred_by_id:
        referral_settle(member=member, purchase=recorded, program=program, now=now)
    return PurchaseOutcome(recorded, awards, created=True)


def _qualifying_gain(purchase: PurchaseInput, points: int, program: Program, now: datetime) -> Decimal:
    """What this purchase adds to the member's qualifying value as of ``now``."""
    if program.tier_metric == Program.TierMetric.POINTS:
        return Decimal(points)  # its entries are dated now, inside the window
    in_window = qualification_window_start(program, now) < purchase.purchased_at <= now
    return purchase.amount if in_window else Decimal("0")


def _insert_purchase(purchase: Purchase, lines: list[PurchaseLine], awards: list[Award]) -> None:
    """Insert the purchase (``KeyTaken`` when the store's external id is taken), its lines and
    its awards; on PostgreSQL in one statement."""
    if connection.vendor != "postgresql":
        insert_keyed(purchase)
        for row in (*lines, *awards):
            row.purchase = purchase
        PurchaseLine.objects.bulk_create(lines)
        Award.objects.bulk_create(awards)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            _PURCHASE_SQL,
            {
                "member": purchase.member_id,
                "store": purchase.store_id,
                "external_id": purchase.external_id,
                "amount": purchase.amount,
                "currency": purchase.currency,
                "purchased_at": purchase.purchased_at,
                "available_at": purchase.available_at,
                "points": purchase.points_awarded,
                "digest": purchase.payload_digest,
                "now": purchase.created_at,
                "skus": [line.sku for line in lines],
                "categories": [line.category for line in lines],
                "quantities": [line.quantity for line in lines],
                "amounts": [line.amount for line in lines],
                "line_points": [line.points_awarded for line in lines],
                "campaigns": [award.campaign_id for award in awards],
                "sources": [award.source for award in awards],
                "award_points": [award.points for award in awards],
            },
        )
        row = cursor.fetchone()
    if row is None:
        raise KeyTaken()
    purchase.pk = row[0]
    for award in awards:
        award.purchase = purchase


_PURCHASE_SQL = """
WITH purchase AS (
    INSERT INTO members_purchase (member_id, store_id, external_id, amount, currency, purchased_at,
                                  available_at, points_awarded, refunded_amount, points_reversed,
                                  payload_digest, created_at)
    VALUES (%(member)s, %(store)s, %(external_id)s, %(amount)s, %(currency)s, %(purchased_at)s,
            %(available_at)s, %(points)s, 0, 0, %(digest)s, %(now)s)
    ON CONFLICT (store_id, external_id) DO NOTHING
    RETURNING id
), line AS (
    INSERT INTO members_purchaseline (purchase_id, sku, category, quantity, amount, points_awarded)
    SELECT purchase.id, line.sku, line.category, line.quantity, line.amount, line.points
    FROM purchase, unnest(%(skus)s::varchar[], %(categories)s::varchar[], %(quantities)s::numeric[],
                          %(amounts)s::numeric[], %(line_points)s::integer[])
                   AS line (sku, category, quantity, amount, points)
), award AS (
    INSERT INTO campaigns_award (member_id, purchase_id, campaign_id, source, points, position, created_at)
    SELECT %(member)s, purchase.id, award.campaign_id, award.source, award.points, award.n - 1, %(now)s
    FROM purchase, unnest(%(campaigns)s::bigint[], %(sources)s::varchar[], %(award_points)s::integer[])
                   WITH ORDINALITY AS award (campaign_id, source, points, n)
)
SELECT id FROM purchase
"""


def referral_settle(
    *, member: Member, purchase: Purchase, program: Program, now: datetime
) -> Referral | None:
    """On the referred member's first purchase: both sides earn, or the referral is refused
    (self-referral, the referrer's monthly cap) and recorded with why. Runs inside the
    purchase's transaction, with the referred member locked."""
    if Referral.objects.filter(referred=member).exists():
        return None
    referrer = lock_member(member.referred_by_id)  # enrolled earlier: locks always go new -> old
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rewarded_this_month = Referral.objects.filter(
        referrer=referrer, status=Referral.Status.REWARDED, created_at__gte=month_start
    ).count()
    reason = get_policy().referral_refusal(
        referrer=referrer, referred=member, rewarded_this_month=rewarded_this_month, program=program, now=now
    )
    rules = {
        rule.kind: rule
        for rule in ActionRule.objects.filter(
            is_active=True,
            kind__in=[ActionRule.Kind.REFERRAL_REFERRER, ActionRule.Kind.REFERRAL_REFERRED],
        )
    }
    referrer_rule = rules.get(ActionRule.Kind.REFERRAL_REFERRER)
    referred_rule = rules.get(ActionRule.Kind.REFERRAL_REFERRED)
    if not reason and not (referrer_rule or referred_rule):
        reason = "no_active_rule"
    referral = Referral.objects.create(
        referrer=referrer,
        referred=member,
        purchase=purchase,
        status=Referral.Status.REFUSED if reason else Referral.Status.REWARDED,
        reason=reason,
        referrer_points=0 if reason or not referrer_rule else referrer_rule.points,
        referred_points=0 if reason or not referred_rule else referred_rule.points,
        created_at=now,
    )
    if reason:
        return referral
    for side, who, rule in (("referrer", referrer, referrer_rule), ("referred", member, referred_rule)):
        if rule and rule.points:
            points_credit(
                member_id=who.pk,
                points=rule.points,
                kind=Kind.BONUS,
                idempotency_key=f"referral:{referral.pk}:{side}",
                source_type=Source.REFERRAL,
                source_id=str(referral.pk),
                description=rule.name,
                available_at=purchase.available_at,
                now=now,
            )
    return referral


def refund_record(
    *,
    store: Store,
    purchase_external_id: str,
    external_id: str,
    amount: Decimal | str,
    now: datetime | None = None,
) -> RefundOutcome:
    """Refund part or all of a store's purchase. Reverses
    ``floor(points_awarded x refunded so far / amount)`` less what earlier refunds reversed, so a
    full refund reverses exactly what was awarded; spent points leave a negative balance."""
    now = now or timezone.now()
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > 100:
        raise InvalidRequest(fields={"external_id": ["Required, at most 100 characters."]})
    amount = _money(amount, "amount")
    if not purchase_external_id or len(purchase_external_id) > 100 or "\x00" in purchase_external_id:
        raise PurchaseNotFound()
    purchase = Purchase.objects.filter(store=store, external_id=purchase_external_id).first()
    if purchase is None:
        raise PurchaseNotFound()
    digest = payload_digest({"purchase": purchase.pk, "amount": str(amount)})

    def replay(_locked: Member | None) -> RefundOutcome | None:
        refund = (
            Refund.objects.filter(store=store, external_id=external_id).select_related("purchase").first()
        )
        if refund is None:
            return None
        if refund.payload_digest != digest:
            raise DuplicateExternalId()
        return RefundOutcome(refund, refund.purchase, created=False)

    def record(_member: Member) -> RefundOutcome:
        locked = Purchase.objects.select_for_update().get(pk=purchase.pk)
        left = locked.amount - locked.refunded_amount
        if amount > left:
            raise RefundExceedsPurchase(
                f"{left} is left to refund of that purchase; {amount} asked.",
                fields={"amount": [f"At most {left}."]},
            )
        refunded = locked.refunded_amount + amount
        target = math.floor(locked.points_awarded * refunded / locked.amount)
        reverse = max(target - locked.points_reversed, 0)
        refund = insert_keyed(
            Refund(
                purchase=locked,
                store=store,
                external_id=external_id,
                amount=amount,
                points_reversed=reverse,
                payload_digest=digest,
                created_at=now,
            )
        )
        if reverse:
            points_reverse(
                member_id=locked.member_id,
                source_type=Source.PURCHASE,
                source_id=str(locked.pk),
                idempotency_key=f"refund:{refund.pk}",
                points=reverse,
                description=f"Refund {external_id} of purchase {locked.external_id}"[:255],
                now=now,
            )
        Purchase.objects.filter(pk=locked.pk).update(
            refunded_amount=refunded, points_reversed=F("points_reversed") + reverse
        )
        locked.refunded_amount = refunded
        locked.points_reversed += reverse
        return RefundOutcome(refund, locked, created=True)

    return record_once(lock=lambda: lock_member(purchase.member_id), replay=replay, record=record)
