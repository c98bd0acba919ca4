"""Reads of the core used by more than one caller (the API, the portal, the staff pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import LedgerEntry, Member, PointLot, Program, Tier
from .tiers import next_tier, qualifying_value


@dataclass(frozen=True)
class DatedPoints:
    points: int
    on: date


@dataclass(frozen=True)
class TierProgress:
    tier: Tier | None
    next_tier: Tier | None
    qualifying_value: Decimal
    needed: Decimal | None  # what is still needed for the next tier; None at the top
    percent: int


def member_for_user(user) -> Member | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return Member.objects.select_related("tier").filter(user=user).first()


def member_recent_entries(member: Member, limit: int = 10) -> QuerySet[LedgerEntry]:
    return member.ledger_entries.order_by("-created_at", "-id")[:limit]


def member_expiring_points(
    member: Member, *, dates: int = 3, program: Program | None = None
) -> list[DatedPoints]:
    """The points that expire next, summed per day, for the next ``dates`` days that have any.

    In inactivity mode lots carry no date: everything the member holds lapses together, on the
    day they will have been inactive for the program's expiry days (what the expiry job and the
    reminders count from), unless they earn or spend before then."""
    program = program or Program.load()
    if program.expiry_mode == Program.ExpiryMode.INACTIVITY:
        points = member.points_available + member.points_pending
        last_active = member.last_activity_at or member.enrolled_at
        if points <= 0 or last_active is None:
            return []
        lapses = last_active + timedelta(days=program.expiry_days)
        return [DatedPoints(points=points, on=timezone.localdate(lapses))]
    rows = (
        PointLot.objects.filter(member=member, remaining__gt=0, expires_at__isnull=False)
        .annotate(on=TruncDate("expires_at"))
        .values("on")
        .annotate(points=Sum("remaining"))
        .order_by("on")[:dates]
    )
    return [DatedPoints(points=row["points"], on=row["on"]) for row in rows]


def member_pending_arrivals(member: Member, *, dates: int = 5) -> list[DatedPoints]:
    """Pending points summed per day they become available."""
    rows = (
        PointLot.objects.filter(member=member, is_pending=True, remaining__gt=0)
        .annotate(on=TruncDate("available_at"))
        .values("on")
        .annotate(points=Sum("remaining"))
        .order_by("on")[:dates]
    )
    return [DatedPoints(points=row["points"], on=row["on"]) for row in rows]


def member_tier_progress(
    member: Member, *, as_of: datetime | None = None, program: Program | None = None
) -> TierProgress:
    """Where the member stands against the next tier's threshold (two queries)."""
    value = qualifying_value(member, as_of=as_of or timezone.now(), program=program)
    upcoming = next_tier(member)
    if upcoming is None:
        return TierProgress(member.tier, None, value, None, 100)
    needed = max(upcoming.threshold - value, Decimal("0"))
    percent = 100 if upcoming.threshold <= 0 else int(min(value / upcoming.threshold, 1) * 100)
    return TierProgress(member.tier, upcoming, value, needed, percent)
