"""Set-based ledger jobs over a range of member ids: a handful of SQL statements per chunk,
never a loop over members.

Each chunk is one transaction that first locks every member row in its id range (on
PostgreSQL), so no ledger service can write to those members between the statements. Every
chunk is idempotent: it only touches lots that still need it, so running it again, or after a
crash, changes nothing that was already done.
"""

from __future__ import annotations

from collections.abc import Iterator
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min

from ..models import Member


@dataclass(frozen=True)
class ChunkResult:
    members: int
    lots: int
    points: int


def member_id_ranges(chunk_size: int | None = None) -> Iterator[tuple[int, int]]:
    """Consecutive inclusive id ranges covering every member."""
    chunk_size = chunk_size or settings.LOYALTY_JOB_CHUNK_SIZE
    bounds = Member.objects.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, chunk_size):
        yield start, min(start + chunk_size - 1, bounds["high"])


def _lock_member_range(cursor, first_id: int, last_id: int) -> None:
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT 1 FROM members_member WHERE id BETWEEN %s AND %s ORDER BY id FOR UPDATE",
            [first_id, last_id],
        )
    # SQLite allows one writer at a time: the transaction itself is the lock.


def release_pending_chunk(*, as_of: datetime, first_id: int, last_id: int) -> ChunkResult:
    """Lots whose return window closed by ``as_of`` stop being pending."""
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_member_range(cursor, first_id, last_id)
        due = (
            "SELECT member_id, COUNT(*) AS lots, SUM(remaining) AS points FROM members_pointlot "
            "WHERE is_pending AND available_at <= %s AND member_id BETWEEN %s AND %s "
            "GROUP BY member_id"
        )
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(lots), 0), COALESCE(SUM(points), 0) FROM ({due}) d",
            [as_of, first_id, last_id],
        )
        members, lots, points = cursor.fetchone()
        if not members:
            return ChunkResult(0, 0, 0)
        cursor.execute(
            "UPDATE members_member SET points_available = points_available + d.points, "
            "points_pending = points_pending - d.points "
            f"FROM ({due}) d WHERE members_member.id = d.member_id",
            [as_of, first_id, last_id],
        )
        cursor.execute(
            "UPDATE members_pointlot SET is_pending = FALSE "
            "WHERE is_pending AND available_at <= %s AND member_id BETWEEN %s AND %s",
            [as_of, first_id, last_id],
        )
        return ChunkResult(int(members), int(lots), int(points))


def expire_lots_chunk(*, as_of: datetime, first_id: int, last_id: int) -> ChunkResult:
    """Lots whose expiry passed by ``as_of`` lose what is left in them: one expire entry per
    member, an allocation per lot, the cached balances lowered and the lots emptied.

    Emptying the lots is what makes a rerun harmless; the entry keys only need to be unique,
    so they carry a token of this run (points given back to an expired lot by a cancelled
    redemption expire in a later run with the same ``as_of``)."""
    run_key = f"{as_of.isoformat()}:{uuid.uuid4().hex[:12]}"
    expiring = (
        "FROM members_pointlot WHERE remaining > 0 AND expires_at <= %s AND member_id BETWEEN %s AND %s"
    )
    window = [as_of, first_id, last_id]
    with transaction.atomic(), connection.cursor() as cursor:
        _lock_member_range(cursor, first_id, last_id)
        cursor.execute(
            f"SELECT COUNT(DISTINCT member_id), COUNT(*), COALESCE(SUM(remaining), 0) {expiring}",
            window,
        )
        members, lots, points = cursor.fetchone()
        if not lots:
            return ChunkResult(0, 0, 0)
        cursor.execute(
            "INSERT INTO members_ledgerentry (member_id, kind, points, balance_after, source_type, "
            "source_id, description, idempotency_key, created_at) "
            "SELECT m.id, 'expire', -x.points, m.points_available + m.points_pending - x.points, "
            "'expiry', %s, 'Points expired', 'expire:' || m.id || ':' || %s, %s "
            "FROM members_member m JOIN ("
            f"  SELECT member_id, SUM(remaining) AS points {expiring} GROUP BY member_id"
            ") x ON x.member_id = m.id",
            [run_key[:64], run_key, as_of, *window],
        )
        cursor.execute(
            "INSERT INTO members_lotallocation (entry_id, lot_id, points) "
            "SELECT e.id, l.id, l.remaining FROM members_pointlot l "
            "JOIN members_ledgerentry e ON e.idempotency_key = 'expire:' || l.member_id || ':' || %s "
            "WHERE l.remaining > 0 AND l.expires_at <= %s AND l.member_id BETWEEN %s AND %s",
            [run_key, *window],
        )
        cursor.execute(
            "UPDATE members_member SET "
            "points_available = points_available - x.available, "
            "points_pending = points_pending - x.pending "
            "FROM (SELECT member_id, "
            "  SUM(CASE WHEN is_pending THEN 0 ELSE remaining END) AS available, "
            "  SUM(CASE WHEN is_pending THEN remaining ELSE 0 END) AS pending "
            f"  {expiring} GROUP BY member_id) x "
            "WHERE members_member.id = x.member_id",
            window,
        )
        cursor.execute(
            f"UPDATE members_pointlot SET remaining = 0 WHERE id IN (SELECT id {expiring})", window
        )
        return ChunkResult(int(members), int(lots), int(points))


def release_pending_points(*, as_of: datetime) -> ChunkResult:
    return _over_all_members(release_pending_chunk, as_of)


def expire_points(*, as_of: datetime) -> ChunkResult:
    return _over_all_members(expire_lots_chunk, as_of)


def _over_all_members(chunk_job, as_of: datetime) -> ChunkResult:
    members = lots = points = 0
    for first_id, last_id in member_id_ranges():
        result = chunk_job(as_of=as_of, first_id=first_id, last_id=last_id)
        members, lots, points = members + result.members, lots + result.lots, points + result.points
    return ChunkResult(members, lots, points)
