"""Own stores and partners: what a store's key may see of a member, and what it may post.

The program's own stores see every member in full, as in 0.1. A partner in a coalition sees a
member's personal data (email, names, phone, birth date) only when the member is *related* to
it: the partner enrolled them or recorded a purchase of theirs. ``related_to_store`` is the one
definition of that relation; every API answer about a member goes through ``members_for_store``
or ``personal_data_visible``, which use it. A partner reads only the ledger entries made for
its own purchases (and their refunds), redemptions and activities (``entries_for_store``).

Every store posts purchases up to its ``max_purchase_amount``: the limit guards the program's
liability against a broken till or a leaked key at an own store as much as at a partner. Only
partners are held to ``max_backdate_hours``: the program's own stores import their history.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet, Value

from .errors import AmountOverLimit, PurchaseTooOld
from .models import LedgerEntry, Member, Purchase, Store

# Purchase records refuse anything older than ten years whatever the store's limit says.
MAX_BACKDATE_HOURS = 24 * 3650


def related_to_store(store: Store) -> Q:
    """Members related to ``store``, as a condition on members: enrolled there, or with a
    purchase there (one EXISTS on the purchases' member index)."""
    return Q(enrolled_store=store) | Q(Exists(Purchase.objects.filter(member=OuterRef("pk"), store=store)))


def members_for_store(store: Store) -> QuerySet[Member]:
    """Members as ``store`` sees them, each annotated with ``personal_data_visible``; in the
    same query as the member, so a read costs no extra query."""
    if not store.is_partner:
        return Member.objects.annotate(personal_data_visible=Value(True, output_field=BooleanField()))
    return Member.objects.annotate(
        personal_data_visible=ExpressionWrapper(related_to_store(store), output_field=BooleanField())
    )


def personal_data_visible(member: Member, store: Store) -> bool:
    """Whether ``store`` may see ``member``'s personal data: the annotation when the member came
    from ``members_for_store``, else one query."""
    annotated = getattr(member, "personal_data_visible", None)
    if annotated is not None:
        return bool(annotated)
    if not store.is_partner or member.enrolled_store_id == store.pk:
        return True
    return Member.objects.filter(related_to_store(store), pk=member.pk).exists()


def entries_for_store(member: Member, store: Store) -> QuerySet[LedgerEntry]:
    """The member's ledger as ``store`` may read it: all of it for an own store, only the
    entries made for its own purchases, redemptions and activities for a partner."""
    entries = LedgerEntry.objects.filter(member=member)
    return entries.filter(store=store) if store.is_partner else entries


def purchase_check_limits(*, store: Store, amount: Decimal, purchased_at: datetime, now: datetime) -> None:
    """Refuse a purchase above the store's largest amount (``AmountOverLimit``), or, from a
    partner, dated further back than it may post (``PurchaseTooOld``)."""
    if amount > store.max_purchase_amount:
        raise AmountOverLimit(
            f"This store posts purchases of at most {store.max_purchase_amount}.",
            fields={"amount": [f"At most {store.max_purchase_amount}."]},
        )
    hours = min(store.max_backdate_hours, MAX_BACKDATE_HOURS)
    if store.is_partner and purchased_at < now - timedelta(hours=hours):
        raise PurchaseTooOld(
            f"This store posts purchases at most {store.max_backdate_hours} hours old.",
            fields={"purchased_at": [f"At most {store.max_backdate_hours} hours before now."]},
        )
