"""Recording purchases and refunds: the points they earn or claw back, campaign awards, the
immediate tier upgrade and the referral reward on a member's first purchase.

Every credit of a purchase (the base rate with the tier multiplier, and each campaign's bonus)
is a ledger entry with source ``purchase`` and the purchase's id, so a refund reverses them all
with one ``points_reverse``.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Sum
from django.utils import timezone

from members.errors import InvalidRequest, MemberInactive, MemberNotFound
from members.ledger.services import points_credit, points_reverse
from members.locks import lock_member, lock_row
from members.memberships import membership_annotations
from members.models import LedgerEntry, Member, Program, Purchase, PurchaseLine, Refund, Store, Tier
from members.stores import purchase_check_limits
from members.tiers import tier_upgrade_if_qualified
from members.webhooks import event_record, payloads

from ..engagement.services import engagement_progress
from ..engine import Applicator, LineInput, PurchaseContext
from ..errors import DuplicateExternalId, PurchaseNotFound, RefundExceedsPurchase
from ..models import ActionRule, Award, Campaign, Referral
from ..offers import offer_uses_record, offers_for_purchase, offers_grant
from ..policy import get_policy

Kind = LedgerEntry.Kind
Source = LedgerEntry.Source
CENT = Decimal("0.01")
# A purchase may be stamped a little ahead of our clock (tills drift), not more.
CLOCK_SKEW = timedelta(minutes=5)


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


def payload_digest(payload: dict[str, Any]) -> str:
    """What a request carried, as a digest: a replay under the same key with another digest is a
    conflict (purchases, refunds and activities all compare them)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


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


def _quantity(value: Any) -> Decimal:
    try:
        quantity = Decimal(str(value if value is not None else 1))
    except (InvalidOperation, ValueError):
        raise InvalidRequest(fields={"lines": ["A quantity is a number."]}) from None
    if not quantity.is_finite() or quantity < 0 or quantity >= Decimal(10) ** 7:
        raise InvalidRequest(fields={"lines": ["A quantity is a number, zero or more."]})
    return quantity.quantize(Decimal("0.001"))


def _lines(lines: list[dict[str, Any]] | None, amount: Decimal) -> list[LineInput]:
    if not lines:
        return [LineInput(amount=amount)]
    parsed = [
        LineInput(
            amount=_money(line.get("amount"), "lines"),
            sku=str(line.get("sku") or "").strip()[:64],
            category=str(line.get("category") or "").strip()[:64],
            quantity=_quantity(line.get("quantity")),
        )
        for line in lines
    ]
    return parsed


def _check_lines_total(lines: list[LineInput], amount: Decimal) -> None:
    if sum(line.amount for line in lines) != amount:
        raise InvalidRequest(
            "The lines must add up to the purchase amount.",
            fields={"lines": ["The line amounts must add up to the purchase amount."]},
        )


def _replay_purchase(store: Store, external_id: str, digest: str) -> PurchaseOutcome | None:
    purchase = Purchase.objects.filter(store=store, external_id=external_id).select_related("member").first()
    if purchase is None:
        return None
    if purchase.payload_digest != digest:
        raise DuplicateExternalId()
    awards = list(Award.objects.filter(purchase=purchase).order_by("position"))
    return PurchaseOutcome(purchase, awards, created=False)


class _Granter:
    """How many points a campaign may still give this member: its per-member cap (what the
    member already had from the capped campaigns is read in one query), then its total budget,
    taken with a conditional UPDATE so concurrent purchases never overspend."""

    def __init__(self, member: Member, campaigns: list[Campaign]):
        self.member = member
        self.capped = [c.pk for c in campaigns if c.per_member_cap is not None]
        self._used: dict[int, int] | None = None

    def used(self, campaign: Campaign) -> int:
        if self._used is None:
            rows = (
                Award.objects.filter(campaign_id__in=self.capped, member=self.member)
                .values("campaign_id")
                .annotate(total=Sum("points"))
            )
            self._used = {row["campaign_id"]: row["total"] for row in rows}
        return self._used.get(campaign.pk, 0)

    def __call__(self, campaign: Campaign, points: int) -> int:
        if campaign.per_member_cap is not None:
            points = min(points, max(campaign.per_member_cap - self.used(campaign), 0))
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


def purchase_record(
    *,
    store: Store,
    member_number: str,
    external_id: str,
    amount: Decimal | str,
    currency: str,
    purchased_at: datetime,
    lines: list[dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> PurchaseOutcome:
    """Record a store's sale and credit its points, pending through the return window.

    The same ``external_id`` from the same store again is a replay (the first outcome, nothing
    new); with a different payload it is ``DuplicateExternalId``.
    """
    now = now or timezone.now()
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > 100:
        raise InvalidRequest(fields={"external_id": ["Required, at most 100 characters."]})
    amount = _money(amount, "amount")
    if timezone.is_naive(purchased_at):
        raise InvalidRequest(fields={"purchased_at": ["A date and time with a timezone."]})
    try:
        purchased_at_utc = purchased_at.astimezone(UTC)
    except OverflowError:
        raise InvalidRequest(fields={"purchased_at": ["Out of range."]}) from None
    line_inputs = _lines(lines, amount)
    currency = (currency or "").strip().upper()
    digest = payload_digest(
        {
            "member": member_number,
            "amount": str(amount),
            "currency": currency,
            "purchased_at": purchased_at_utc.isoformat(),
            "lines": [[str(li.amount), li.sku, li.category, str(li.quantity)] for li in line_inputs]
            if lines
            else [],
        }
    )
    with transaction.atomic():
        if replay := _replay_purchase(store, external_id, digest):
            return replay
        found = (
            Member.objects.filter(member_number=str(member_number))
            .annotate(
                buys_first=~Exists(Purchase.objects.filter(member=OuterRef("pk"))),
                **membership_annotations(at=purchased_at),
            )
            .values_list("pk", "referred_by_id", "buys_first", "membership_multiplier", "membership_plan")
            .first()
        )
        if found is None:
            raise MemberNotFound()
        member_id, referrer_id, buys_first, plan_multiplier, plan_code = found
        # A first purchase may pay the referrer too (referral_settle): both rows now, in id order.
        member = lock_member(member_id, also=referrer_id if buys_first else None)
        # Concurrent replays wait on the member lock; the first may have committed meanwhile.
        if replay := _replay_purchase(store, external_id, digest):
            return replay
        if member.status != Member.Status.ACTIVE:
            raise MemberInactive()
        program = Program.load()
        _check_lines_total(line_inputs, amount)
        if currency != program.currency:
            raise InvalidRequest(fields={"currency": [f"The program's currency is {program.currency}."]})
        if purchased_at > now + CLOCK_SKEW:
            raise InvalidRequest(fields={"purchased_at": ["A purchase cannot be in the future."]})
        if purchased_at < now - timedelta(days=3650):
            raise InvalidRequest(fields={"purchased_at": ["Too far in the past."]})
        purchase_check_limits(store=store, amount=amount, purchased_at=purchased_at, now=now)
        tier = Tier.objects.filter(pk=member.tier_id).first()
        is_first = not Purchase.objects.filter(member=member).exists()
        try:
            with transaction.atomic():
                purchase = Purchase.objects.create(
                    member=member,
                    store=store,
                    external_id=external_id,
                    amount=amount,
                    currency=currency,
                    purchased_at=purchased_at,
                    available_at=purchased_at + timedelta(days=program.return_window_days),
                    payload_digest=digest,
                    created_at=now,
                )
        except IntegrityError:
            # The same external id for another member, committed while we waited.
            if replay := _replay_purchase(store, external_id, digest):
                return replay
            raise DuplicateExternalId() from None

        campaigns = list(Campaign.objects.for_purchase(at=purchased_at, store=store, tier=tier))
        offers = offers_for_purchase(member_id=member.pk, at=purchased_at)
        context = PurchaseContext(
            amount=amount,
            lines=line_inputs,
            base_rate=program.base_earn_rate,
            tier_multiplier=tier.multiplier if tier else Decimal("1"),
            tier_code=tier.code if tier else "",
            plan_multiplier=Decimal(str(plan_multiplier)) if plan_multiplier else Decimal("1"),
            plan_code=plan_code or "",
            is_first_purchase=is_first,
            policy=get_policy(),
        )
        grant = offers_grant(_Granter(member, campaigns))
        result = Applicator(grant=grant).apply(context, [*campaigns, *offers])

        PurchaseLine.objects.bulk_create(
            PurchaseLine(
                purchase=purchase,
                sku=line.input.sku,
                category=line.input.category,
                quantity=line.input.quantity,
                amount=line.input.amount,
                points_awarded=line.points,
            )
            for line in result.lines
        )
        awards = Award.objects.bulk_create(
            Award(
                member=member,
                purchase=purchase,
                campaign=award.campaign,
                source=award.source,
                points=award.points,
                position=position,
                created_at=now,
            )
            for position, award in enumerate(result.awards)
        )
        offer_uses_record(member_id=member.pk, purchase=purchase, awards=result.awards, now=now)
        common = {
            "member_id": member.pk,
            "source_type": Source.PURCHASE,
            "source_id": str(purchase.pk),
            "earned_at": purchased_at,
            "available_at": purchase.available_at,
            "store": store,
            "now": now,
        }
        earned = sum(a.points for a in result.awards if not a.is_bonus)
        if earned > 0:
            points_credit(
                points=earned,
                kind=Kind.EARN,
                idempotency_key=f"purchase:{purchase.pk}",
                description=f"Purchase {external_id} at {store.name}"[:255],
                **common,
            )
        bonuses = [award for award in result.awards if award.is_bonus]
        if bonuses:
            # One entry for every campaign's and offer's points (the awards keep the breakdown),
            # so the number of queries does not grow with the number of campaigns.
            names = ", ".join(award.rule.name for award in bonuses)
            points_credit(
                points=sum(award.points for award in bonuses),
                kind=Kind.BONUS,
                idempotency_key=f"purchase:{purchase.pk}:campaigns",
                description=f"{names} (purchase {external_id})"[:255],
                **common,
            )
        purchase.points_awarded = result.points
        Purchase.objects.filter(pk=purchase.pk).update(points_awarded=result.points)

        # After the points: this purchase earned at the tier the member had when they bought.
        member.tier = tier
        tier_upgrade_if_qualified(member, now=now)
        if is_first and member.referred_by_id:
            referral_settle(member=member, purchase=purchase, program=program, now=now)
        event_record(
            type="purchase.recorded",
            member_id=member.pk,
            store_id=store.pk,
            data=payloads.purchase_recorded(purchase, store),
        )
        engagement_progress(member=member, trigger=f"purchase:{purchase.pk}", purchase=purchase, now=now)
        return PurchaseOutcome(purchase, awards, created=True)


def referral_settle(
    *, member: Member, purchase: Purchase, program: Program, now: datetime
) -> Referral | None:
    """On the referred member's first purchase: both sides earn, or the referral is refused
    (self-referral, the referrer's monthly cap) and recorded with why. Runs inside the
    purchase's transaction. Both members are locked in id order, as every writer locks them
    (``purchase_record`` has already locked both, in one statement)."""
    if Referral.objects.filter(referred=member).exists():
        return None
    referrer = lock_member(member.referred_by_id, also=member.pk)
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


def _replay_refund(store: Store, external_id: str, digest: str) -> RefundOutcome | None:
    refund = Refund.objects.filter(store=store, external_id=external_id).select_related("purchase").first()
    if refund is None:
        return None
    if refund.payload_digest != digest:
        raise DuplicateExternalId()
    return RefundOutcome(refund, refund.purchase, created=False)


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
    with transaction.atomic():
        if replay := _replay_refund(store, external_id, digest):
            return replay
        member = lock_member(purchase.member_id)
        if replay := _replay_refund(store, external_id, digest):
            return replay
        purchase = lock_row(Purchase.objects.filter(pk=purchase.pk))
        left = purchase.amount - purchase.refunded_amount
        if amount > left:
            raise RefundExceedsPurchase(
                f"{left} is left to refund of that purchase; {amount} asked.",
                fields={"amount": [f"At most {left}."]},
            )
        refunded = purchase.refunded_amount + amount
        target = math.floor(purchase.points_awarded * refunded / purchase.amount)
        reverse = max(target - purchase.points_reversed, 0)
        try:
            with transaction.atomic():
                refund = Refund.objects.create(
                    purchase=purchase,
                    store=store,
                    external_id=external_id,
                    amount=amount,
                    points_reversed=reverse,
                    payload_digest=digest,
                    created_at=now,
                )
        except IntegrityError:
            raise DuplicateExternalId() from None
        if reverse:
            points_reverse(
                member_id=purchase.member_id,
                source_type=Source.PURCHASE,
                source_id=str(purchase.pk),
                idempotency_key=f"refund:{refund.pk}",
                points=reverse,
                description=f"Refund {external_id} of purchase {purchase.external_id}"[:255],
                now=now,
            )
        Purchase.objects.filter(pk=purchase.pk).update(
            refunded_amount=refunded, points_reversed=F("points_reversed") + reverse
        )
        purchase.refunded_amount = refunded
        purchase.points_reversed += reverse
        event_record(
            type="purchase.refunded",
            member_id=purchase.member_id,
            store_id=store.pk,
            data=payloads.purchase_refunded(refund, purchase, store),
        )
        engagement_progress(member=member, trigger=f"refund:{refund.pk}", now=now)
        return RefundOutcome(refund, purchase, created=True)
