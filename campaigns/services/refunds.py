"""Refunds of a store's purchases: the points they claw back, proportionally and
cumulatively, through the ledger's ``points_reverse``; a replay of the same refund changes
nothing (``record_once``). A full refund also takes back the referral the purchase paid and
gives back the offer uses it took."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import F, OuterRef
from django.utils import timezone

from members.errors import InvalidRequest
from members.ledger.services import points_reverse
from members.locks import lock_member, lock_row
from members.models import LedgerEntry, Member, Purchase, Refund, Store
from members.webhooks import event_record, payloads

from ..engagement.services import engagement_progress
from ..errors import DuplicateExternalId, PurchaseNotFound, RefundExceedsPurchase
from ..inputs import payload_digest
from ..offers import offer_uses_return
from .purchases import referral_paid_by, referral_reverse
from .replays import insert_keyed, record_once

CENT = Decimal("0.01")


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
    # With the referrer of a referral this purchase paid, if any: a full refund takes it back,
    # so both members are locked at once, in id order.
    purchase = (
        Purchase.objects.filter(store=store, external_id=purchase_external_id)
        .annotate(paid_referrer_id=referral_paid_by(OuterRef("pk")))
        .first()
    )
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

    def record(member: Member) -> RefundOutcome:
        locked = lock_row(Purchase.objects.filter(pk=purchase.pk))
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
                source_type=LedgerEntry.Source.PURCHASE,
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
        event_record(
            type="purchase.refunded",
            member_id=locked.member_id,
            store_id=store.pk,
            data=payloads.purchase_refunded(refund, locked, store),
        )
        engagement_progress(member=member, trigger=f"refund:{refund.pk}", now=now)
        if locked.refunded_amount >= locked.amount:
            offer_uses_return(purchase=locked, now=now)
            if purchase.paid_referrer_id:
                referral_reverse(purchase=locked, now=now)
        return RefundOutcome(refund, locked, created=True)

    return record_once(
        lock=lambda: lock_member(purchase.member_id, also=purchase.paid_referrer_id),
        replay=replay,
        record=record,
    )
