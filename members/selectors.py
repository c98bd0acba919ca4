"""Reads of the core used by more than one caller (the API, the portal, the staff pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from . import config
from .models import LedgerEntry, Member, PointLot, Program, Tier
from .statements import hot_cursor
from .tiers import money_from_db, next_tier, qualifying_value, qualifying_value_sql


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
    program = program or config.program()
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


def member_tier_progress(member: Member, *, as_of: datetime | None = None) -> TierProgress:
    """Where the member stands against the next tier's threshold (one query: the tiers are
    kept per process)."""
    return _progress(member, next_tier(member), qualifying_value(member, as_of=as_of or timezone.now()))


@dataclass(frozen=True)
class DashboardFigures:
    """What the member's dashboard shows of their points."""

    progress: TierProgress
    keep_value: Decimal | None  # the qualifying value as of ``keep_as_of``, when asked
    recent: list[LedgerEntry]
    pending: list[DatedPoints]
    expiring: list[DatedPoints]
    months: dict[date, tuple[int, int]]  # month (its first day) -> points earned, points used


def member_dashboard(
    member: Member, *, now: datetime, months_from: date, keep_as_of: datetime | None = None
) -> DashboardFigures:
    """The dashboard's figures (``member_tier_progress``, the qualifying value as of
    ``keep_as_of``, the six latest entries, pending arrivals, expiring points, points earned and
    used per month since ``months_from``): the page a member opens on every visit, so on
    PostgreSQL one query; elsewhere, the selectors one by one."""
    program = config.program()
    upcoming = config.tiers().above(config.tiers().get(member.tier_id))
    if connection.vendor != "postgresql":
        return DashboardFigures(
            progress=member_tier_progress(member, as_of=now),
            keep_value=None if keep_as_of is None else qualifying_value(member, as_of=keep_as_of),
            recent=list(member_recent_entries(member, limit=6)),
            pending=member_pending_arrivals(member),
            expiring=member_expiring_points(member),
            months=_months(member, months_from),
        )
    value_now, params = qualifying_value_sql(program, as_of=now, member="%(member)s", name="now")
    value_keep = "NULL"
    if keep_as_of is not None:
        value_keep, keep_params = qualifying_value_sql(
            program, as_of=keep_as_of, member="%(member)s", name="keep"
        )
        params.update(keep_params)
    params.update(
        member=member.pk,
        tz=timezone.get_current_timezone_name(),
        months_from=timezone.make_aware(datetime.combine(months_from, datetime.min.time())),
    )
    with hot_cursor() as cursor:
        cursor.execute(_DASHBOARD_SQL.format(value_now=value_now, value_keep=value_keep), params)
        value, keep, pending, expiring, recent, months = cursor.fetchone()
    return DashboardFigures(
        progress=_progress(member, upcoming, money_from_db(value)),
        keep_value=None if keep_as_of is None else money_from_db(keep),
        recent=[
            LedgerEntry(member=member, **{**entry, "created_at": datetime.fromisoformat(entry["created_at"])})
            for entry in recent or []
        ],
        pending=[DatedPoints(points, date.fromisoformat(on)) for on, points in pending or []],
        expiring=[DatedPoints(points, date.fromisoformat(on)) for on, points in expiring or []],
        months={
            date.fromisoformat(month): (earned or 0, -(used or 0)) for month, earned, used in months or []
        },
    )


_DASHBOARD_SQL = """
SELECT {value_now}, {value_keep},
    (SELECT json_agg(json_build_array(x.on_day, x.points) ORDER BY x.on_day) FROM (
        SELECT (available_at AT TIME ZONE %(tz)s)::date AS on_day, SUM(remaining) AS points
        FROM members_pointlot WHERE member_id = %(member)s AND is_pending AND remaining > 0
        GROUP BY 1 ORDER BY 1 LIMIT 5) x),
    (SELECT json_agg(json_build_array(x.on_day, x.points) ORDER BY x.on_day) FROM (
        SELECT (expires_at AT TIME ZONE %(tz)s)::date AS on_day, SUM(remaining) AS points
        FROM members_pointlot WHERE member_id = %(member)s AND remaining > 0 AND expires_at IS NOT NULL
        GROUP BY 1 ORDER BY 1 LIMIT 3) x),
    (SELECT json_agg(row_to_json(e) ORDER BY e.created_at DESC, e.id DESC) FROM (
        SELECT id, kind, points, balance_after, source_type, source_id, description, created_at
        FROM members_ledgerentry WHERE member_id = %(member)s
        ORDER BY created_at DESC, id DESC LIMIT 6) e),
    (SELECT json_agg(json_build_array(x.month, x.earned, x.used)) FROM (
        SELECT date_trunc('month', created_at AT TIME ZONE %(tz)s)::date AS month,
               SUM(points) FILTER (WHERE points > 0) AS earned, SUM(points) FILTER (WHERE points < 0) AS used
        FROM members_ledgerentry WHERE member_id = %(member)s AND created_at >= %(months_from)s
        GROUP BY 1) x)
"""


def _progress(member: Member, upcoming: Tier | None, value: Decimal) -> TierProgress:
    if upcoming is None:
        return TierProgress(config.tiers().get(member.tier_id), None, value, None, 100)
    needed = max(upcoming.threshold - value, Decimal("0"))
    percent = 100 if upcoming.threshold <= 0 else int(min(value / upcoming.threshold, 1) * 100)
    return TierProgress(config.tiers().get(member.tier_id), upcoming, value, needed, percent)


def _months(member: Member, months_from: date) -> dict[date, tuple[int, int]]:
    start = timezone.make_aware(datetime.combine(months_from, datetime.min.time()))
    rows = (
        LedgerEntry.objects.filter(member=member, created_at__gte=start)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(earned=Sum("points", filter=Q(points__gt=0)), used=Sum("points", filter=Q(points__lt=0)))
    )
    per_month: dict[date, tuple[int, int]] = {}
    for row in rows:
        month = row["month"]
        key = (timezone.localtime(month) if isinstance(month, datetime) else month).replace(day=1)
        key = key.date() if isinstance(key, datetime) else key
        per_month[key] = (row["earned"] or 0, -(row["used"] or 0))
    return per_month
