"""The ``data`` of each event, built from rows the service already holds, so writing an event
costs its INSERT and nothing more. Every body also carries the member's ``member_number``,
added when it is sent (``delivery.event_body``)."""

from __future__ import annotations

from typing import Any

from ..models import Member, Purchase, Refund, Store, Tier, TierChange


def _store_code(store: Store | None) -> str | None:
    return store.code if store is not None else None


def member_enrolled(member: Member) -> dict[str, Any]:
    return {
        "email": member.email,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "tier": member.tier.code if member.tier is not None else None,
        "enrolled_at": member.enrolled_at,
        "store": _store_code(member.enrolled_store),
    }


def tier_changed(member: Member, change: TierChange, to_tier: Tier) -> dict[str, Any]:
    """``member`` still has the tier it moves from."""
    return {
        "from_tier": member.tier.code if member.tier is not None else None,
        "to_tier": to_tier.code,
        "reason": change.reason,
        "changed_at": change.created_at,
    }


def purchase_recorded(purchase: Purchase, store: Store) -> dict[str, Any]:
    return {
        "external_id": purchase.external_id,
        "store": store.code,
        "amount": purchase.amount,
        "currency": purchase.currency,
        "purchased_at": purchase.purchased_at,
        "points_awarded": purchase.points_awarded,
        "available_at": purchase.available_at,
    }


def purchase_refunded(refund: Refund, purchase: Purchase, store: Store) -> dict[str, Any]:
    return {
        "purchase_external_id": purchase.external_id,
        "external_id": refund.external_id,
        "store": store.code,
        "amount": refund.amount,
        "points_reversed": refund.points_reversed,
        "refunded_at": refund.created_at,
    }


def redemption(redemption: Any, store: Store | None = None, **extra: Any) -> dict[str, Any]:
    """A redemption (``rewards.models.Redemption``: the core does not import rewards) and its
    reward, which the caller has loaded."""
    return {
        "id": redemption.pk,
        "reward": redemption.reward.code,
        "points_spent": redemption.points_spent,
        "status": redemption.status,
        "expires_at": redemption.expires_at,
        "store": _store_code(store),
        **extra,
    }
