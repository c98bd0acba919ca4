"""Segments: conditions compiled to one SQL predicate per segment, and the ``refresh_segments``
job that materialises who is in each segment.

A segment's conditions are grouped: the conditions of one group must all hold (AND), and a
member is in the segment when any group holds (OR). ``segment_predicate_sql`` turns them into
one predicate over the member row ``m`` (each condition a column test or a correlated EXISTS or
SUM on the purchases' member index), so the job asks the database for a whole member-id range
at once, per segment: the members who match are added if they are not in yet, and the members
who are in and no longer match are removed. On PostgreSQL that is one statement per segment,
which evaluates the predicate once per member of the range; SQLite (no data-modifying CTEs)
runs an INSERT and a DELETE that each evaluate it. Running a chunk again changes nothing, so the
job is idempotent and resumable like every registered job; it writes no points, so it locks no
member. Only active members are ever in a segment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from members.jobs.base import Counts, db_datetime
from members.models import JobRun, Member
from members.models_plans import membership_running_sql

from .models import Segment, SegmentCondition, SegmentMember

Sql = tuple[str, list[Any]]
Field = SegmentCondition.Field
FALSE_SQL = "1 = 0"
COMPARE = {"gte": ">=", "lte": "<=", "eq": "="}


@dataclass(frozen=True)
class SegmentResult(Counts):
    """Memberships added plus removed, and each of them."""

    changed: int = 0
    added: int = 0
    removed: int = 0


def _in_list(column: str, values: list[str]) -> Sql:
    if not values:
        return FALSE_SQL, []
    return f"LOWER({column}) IN ({', '.join(['%s'] * len(values))})", list(values)


def _since(days: int | None, as_of: datetime, column: str = "p.purchased_at") -> Sql:
    if days is None:
        return "", []
    return f" AND {column} > %s", [db_datetime(as_of - timedelta(days=days))]


def _birth_month_sql() -> str:
    if connection.vendor == "postgresql":
        return "EXTRACT(MONTH FROM m.birth_date)"
    return "CAST(strftime('%%m', m.birth_date) AS INTEGER)"


def condition_sql(condition: SegmentCondition, *, as_of: datetime) -> Sql:
    """One condition as a SQL predicate on the member row ``m``; never NULL."""
    field, number = condition.field, condition.number
    op = COMPARE[condition.operator]
    if field == Field.TIER:
        inner, params = _in_list("t.code", condition.text_list)
        sql, params = f"m.tier_id IN (SELECT t.id FROM members_tier t WHERE {inner})", params
    elif field == Field.DAYS_SINCE_PURCHASE:
        # "at least N days": bought before, and not in the last N days; "at most": bought in them.
        cutoff = db_datetime(as_of - timedelta(days=int(number or 0)))
        recent = "EXISTS (SELECT 1 FROM members_purchase p WHERE p.member_id = m.id AND p.purchased_at > %s)"
        ever = "EXISTS (SELECT 1 FROM members_purchase p WHERE p.member_id = m.id)"
        if condition.operator == "lte":
            sql, params = recent.replace(">", ">="), [cutoff]
        else:
            sql, params = f"({ever} AND NOT {recent})", [cutoff]
    elif field == Field.PURCHASES:
        since, params = _since(condition.days, as_of)
        sql = f"(SELECT COUNT(*) FROM members_purchase p WHERE p.member_id = m.id{since}) {op} %s"
        params = [*params, int(number or 0)]
    elif field == Field.SPEND:
        since, params = _since(condition.days, as_of)
        sql = (
            "COALESCE((SELECT SUM(p.amount - p.refunded_amount) FROM members_purchase p "
            f"WHERE p.member_id = m.id{since}), 0) {op} CAST(%s AS NUMERIC)"
        )
        params = [*params, Decimal(number or 0)]
    elif field in (Field.CATEGORY, Field.SKU):
        column = "l.category" if field == Field.CATEGORY else "l.sku"
        inner, params = _in_list(column, condition.text_list)
        since, since_params = _since(condition.days, as_of)
        sql = (
            "EXISTS (SELECT 1 FROM members_purchase p JOIN members_purchaseline l ON l.purchase_id = p.id "
            f"WHERE p.member_id = m.id AND {inner}{since})"
        )
        params = [*params, *since_params]
    elif field == Field.STORE:
        inner, params = _in_list("s.code", condition.text_list)
        stores = f"(SELECT s.id FROM members_store s WHERE {inner})"
        sql = (
            f"(m.enrolled_store_id IN {stores} OR EXISTS (SELECT 1 FROM members_purchase p "
            f"WHERE p.member_id = m.id AND p.store_id IN {stores}))"
        )
        params = [*params, *params]
    elif field == Field.BIRTHDAY_MONTH:
        month = int(number or 0) or as_of.month
        sql, params = f"(m.birth_date IS NOT NULL AND {_birth_month_sql()} = %s)", [month]
    elif field == Field.JOINED_WITHIN:
        sql, params = "m.enrolled_at > %s", [db_datetime(as_of - timedelta(days=condition.days or 0))]
    elif field == Field.MARKETING_OPT_IN:
        sql, params = "m.marketing_opt_in = %s", [True]
    elif field == Field.PAID_MEMBERSHIP:
        at = db_datetime(as_of)
        sql, params = (
            "EXISTS (SELECT 1 FROM members_membership ms "
            "JOIN members_membershipplan pl ON pl.id = ms.plan_id "
            f"WHERE ms.member_id = m.id AND {membership_running_sql('ms', '%s')}",
            [at, at],
        )
        if condition.text_list:
            inner, codes = _in_list("pl.code", condition.text_list)
            sql, params = f"{sql} AND {inner}", [*params, *codes]
        sql += ")"
    elif field == Field.CHALLENGE_COMPLETED:
        # A completion a refund reversed does not count.
        since, params = _since(condition.days, as_of, column="cc.completed_at")
        sql = (
            "EXISTS (SELECT 1 FROM campaigns_challengecompletion cc JOIN campaigns_challenge c "
            f"ON c.id = cc.challenge_id WHERE cc.member_id = m.id AND cc.reversed_at IS NULL{since}"
        )
        if condition.text_list:
            inner, codes = _in_list("c.code", condition.text_list)
            sql, params = f"{sql} AND {inner}", [*params, *codes]
        sql += ")"
    else:  # pragma: no cover - the choices are closed
        raise ValueError(f"Unknown segment condition {field!r}")
    sql = f"COALESCE(({sql}), {FALSE_SQL})"
    return (f"NOT {sql}" if condition.negate else sql), params


def segment_predicate_sql(conditions: Iterable[SegmentCondition], *, as_of: datetime) -> Sql:
    """The segment's conditions as one predicate on ``m``: AND within a group, OR across groups;
    no condition at all matches nobody."""
    groups: dict[int, list[Sql]] = {}
    for condition in conditions:
        groups.setdefault(condition.group, []).append(condition_sql(condition, as_of=as_of))
    if not groups:
        return FALSE_SQL, []
    parts, params = [], []
    for group in sorted(groups):
        parts.append("(" + " AND ".join(sql for sql, _ in groups[group]) + ")")
        params += [p for _, group_params in groups[group] for p in group_params]
    return "(m.status = 'active' AND (" + " OR ".join(parts) + "))", params


def _active_segments() -> list[tuple[Segment, list[SegmentCondition]]]:
    segments = list(Segment.objects.filter(is_active=True).prefetch_related("conditions").order_by("pk"))
    return [(segment, list(segment.conditions.all())) for segment in segments]


def segments_refresh_chunk(*, as_of: datetime, first_id: int, last_id: int, **_) -> SegmentResult:
    """Bring every active segment's membership of members ``first_id``..``last_id`` up to date:
    one statement per segment on PostgreSQL, two on SQLite. Inactive segments keep their members
    (offers of a paused segment are paused by the offer, not by emptying the segment)."""
    refresh = _membership_refresh if connection.vendor == "postgresql" else _membership_refresh_embedded
    added = removed = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for segment, conditions in _active_segments():
            predicate, params = segment_predicate_sql(conditions, as_of=as_of)
            segment_added, segment_removed = refresh(
                cursor,
                segment_id=segment.pk,
                predicate=(predicate, params),
                added_at=db_datetime(as_of),
                first_id=first_id,
                last_id=last_id,
            )
            added += segment_added
            removed += segment_removed
    return SegmentResult(added + removed, added, removed)


def _membership_refresh(
    cursor, *, segment_id: int, predicate: Sql, added_at: Any, first_id: int, last_id: int
) -> tuple[int, int]:
    """One segment's members of the range, in one statement: the members who match are found
    once (``matched``); those not in yet are added, those in who are not matched are removed.
    The two writes touch different members, and ON CONFLICT leaves a membership that a run
    committing meanwhile added. Returns (added, removed)."""
    sql, params = predicate
    cursor.execute(
        "WITH matched AS MATERIALIZED ("
        f"    SELECT m.id FROM members_member m WHERE m.id BETWEEN %s AND %s AND {sql}"
        "), removed AS ("
        "    DELETE FROM campaigns_segmentmember s WHERE s.segment_id = %s AND s.member_id BETWEEN %s AND %s"
        "    AND NOT EXISTS (SELECT 1 FROM matched WHERE matched.id = s.member_id) RETURNING 1"
        "), added AS ("
        "    INSERT INTO campaigns_segmentmember (segment_id, member_id, added_at)"
        "    SELECT %s, matched.id, %s FROM matched"
        "    ON CONFLICT (segment_id, member_id) DO NOTHING RETURNING 1"
        ") SELECT (SELECT COUNT(*) FROM added), (SELECT COUNT(*) FROM removed)",
        [first_id, last_id, *params, segment_id, first_id, last_id, segment_id, added_at],
    )
    added, removed = cursor.fetchone()
    return int(added), int(removed)


def _membership_refresh_embedded(
    cursor, *, segment_id: int, predicate: Sql, added_at: Any, first_id: int, last_id: int
) -> tuple[int, int]:
    """The same on SQLite: an INSERT of the members who match and are not in yet, then a DELETE
    of the members who are in and no longer match."""
    sql, params = predicate
    cursor.execute(
        "INSERT INTO campaigns_segmentmember (segment_id, member_id, added_at) "
        f"SELECT %s, m.id, %s FROM members_member m WHERE m.id BETWEEN %s AND %s AND {sql} "
        "ON CONFLICT (segment_id, member_id) DO NOTHING",
        [segment_id, added_at, first_id, last_id, *params],
    )
    added = max(cursor.rowcount, 0)
    cursor.execute(
        "DELETE FROM campaigns_segmentmember WHERE segment_id = %s AND member_id BETWEEN %s AND %s "
        "AND NOT EXISTS (SELECT 1 FROM members_member m "
        f"WHERE m.id = campaigns_segmentmember.member_id AND {sql})",
        [segment_id, first_id, last_id, *params],
    )
    return added, max(cursor.rowcount, 0)


def segments_refresh_finish(*, run: JobRun) -> SegmentResult:
    """After the last chunk: each active segment's count and refresh time (one statement)."""
    counts = dict(
        SegmentMember.objects.filter(segment__is_active=True)
        .values_list("segment_id")
        .annotate(n=Count("pk"))
        .values_list("segment_id", "n")
    )
    segments = list(Segment.objects.filter(is_active=True))
    for segment in segments:
        segment.member_count = counts.get(segment.pk, 0)
        segment.refreshed_at = run.as_of
    Segment.objects.bulk_update(segments, ["member_count", "refreshed_at"])
    return SegmentResult()


def segment_preview(
    segment: Segment, *, as_of: datetime | None = None, sample: int = 10
) -> tuple[int, list[Member]]:
    """How many members the segment's conditions match now, and a sample of them, from the same
    predicate the job uses (two queries): what admin shows beside the last refresh."""
    predicate, params = segment_predicate_sql(segment.conditions.all(), as_of=as_of or timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM members_member m WHERE {predicate}", params)
        (count,) = cursor.fetchone()
    members = Member.objects.raw(
        f"SELECT m.* FROM members_member m WHERE {predicate} ORDER BY m.id LIMIT {int(sample)}", params
    )
    return int(count), list(members)


def segment_sample(segment: Segment, *, size: int = 10) -> list[Member]:
    """A few members of the segment as last refreshed (one query)."""
    in_segment = SegmentMember.objects.filter(segment=segment).values("member_id")
    return list(Member.objects.filter(pk__in=in_segment).order_by("pk")[:size])
