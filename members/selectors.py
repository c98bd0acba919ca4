"""Reads of the core used by more than one caller."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import LedgerEntry, Member


def member_for_user(user) -> Member | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Member.objects.select_related("tier").filter(user=user).first()


def member_recent_entries(member: Member, limit: int = 10) -> QuerySet[LedgerEntry]:
    return member.ledger_entries.order_by("-created_at", "-id")[:limit]
