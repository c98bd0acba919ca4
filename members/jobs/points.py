"""Set-based ledger jobs: pending points becoming available and points expiring.

Each chunk is one transaction. It first finds the members of its id range that have work
(a scratch table), locks exactly those member rows in id order, and reads the lots again under
the locks, so no ledger service and no second run of the job can write to them between the
statements. Every chunk only touches lots that still need it, so running it again, or after a
crash, changes nothing that was already done.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.db import connection, transaction

from ..locks import lock_members_in
from ..models import Program
from ..webhooks.bulk import points_expired_events_record
from .base import ChunkResult, ScratchTable, db_datetime


def release_pending_chunk(*, as_of: datetime, first_id: int, last_id: int, **_) -> ChunkResult:
    """Lots whose return window closed by ``as_of`` stop being pending."""
    lots_due = "is_pending AND available_at <= %s AND member_id BETWEEN %s AND %s"
    window = [db_datetime(as_of), first_id, last_id]
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        ScratchTable(cursor, "job_release_members") as candidates,
        ScratchTable(cursor, "job_releasing") as due,
    ):
        if not candidates.fill(f"SELECT DISTINCT member_id FROM members_pointlot WHERE {lots_due}", window):
            return ChunkResult()
        lock_members_in(f"SELECT member_id FROM {candidates.name}")
        lots = due.fill(
            f"SELECT id, member_id, remaining FROM members_pointlot WHERE {lots_due} "
            f"AND member_id IN (SELECT member_id FROM {candidates.name})",
            window,
        )
        if not lots:
            return ChunkResult()
        cursor.execute(f"SELECT COUNT(DISTINCT member_id), COALESCE(SUM(remaining), 0) FROM {due.name}")
        members, points = cursor.fetchone()
        cursor.execute(
            "UPDATE members_member SET points_available = points_available + d.points, "
            "points_pending = points_pending - d.points "
            f"FROM (SELECT member_id, SUM(remaining) AS points FROM {due.name} GROUP BY member_id) d "
            "WHERE members_member.id = d.member_id"
        )
        cursor.execute(
            f"UPDATE members_pointlot SET is_pending = FALSE WHERE id IN (SELECT id FROM {due.name})"
        )
    return ChunkResult(int(members), int(lots), int(points))


def expire_lots_chunk(*, as_of: datetime, first_id: int, last_id: int, **_) -> ChunkResult:
    """Lots whose expiry passed by ``as_of`` (and, in inactivity mode, every lot of a member
    with no activity for the program's expiry days) lose what is left in them: one expire entry
    per member, an allocation per lot, the cached balances lowered and the lots emptied."""
    program = Program.load()
    # Emptying the lots is what makes a rerun harmless; the keys only need to be unique, so they
    # carry a token of this run: points a cancelled redemption gives back to an expired lot must
    # be able to expire again in a later run with the same as_of.
    run_key = f"{as_of.isoformat()}:{uuid.uuid4().hex[:12]}"
    lots_due = "l.remaining > 0 AND l.member_id BETWEEN %s AND %s AND (l.expires_at <= %s"
    params: list = [first_id, last_id, db_datetime(as_of)]
    if program.expiry_mode == Program.ExpiryMode.INACTIVITY:
        lots_due += (
            " OR l.member_id IN (SELECT id FROM members_member WHERE id BETWEEN %s AND %s"
            " AND COALESCE(last_activity_at, enrolled_at) <= %s)"
        )
        params += [first_id, last_id, db_datetime(as_of - timedelta(days=program.expiry_days))]
    lots_due += ")"
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        ScratchTable(cursor, "job_expiry_members") as candidates,
        ScratchTable(cursor, "job_expiring") as expiring,
        ScratchTable(cursor, "job_expiring_totals") as per_member,
    ):
        if not candidates.fill(f"SELECT DISTINCT member_id FROM members_pointlot l WHERE {lots_due}", params):
            return ChunkResult()
        lock_members_in(f"SELECT member_id FROM {candidates.name}")
        lots = expiring.fill(
            "SELECT l.id, l.member_id, l.remaining, l.is_pending FROM members_pointlot l "
            f"WHERE {lots_due} AND l.member_id IN (SELECT member_id FROM {candidates.name})",
            params,
        )
        if not lots:
            return ChunkResult()
        members = per_member.fill(
            "SELECT member_id, SUM(remaining) AS points, "
            "SUM(CASE WHEN is_pending THEN 0 ELSE remaining END) AS available, "
            "SUM(CASE WHEN is_pending THEN remaining ELSE 0 END) AS pending "
            f"FROM {expiring.name} GROUP BY member_id",
            [],
        )
        cursor.execute(
            "INSERT INTO members_ledgerentry (member_id, kind, points, balance_after, source_type, "
            "source_id, description, idempotency_key, created_at) "
            "SELECT m.id, 'expire', -x.points, m.points_available + m.points_pending - x.points, "
            "'expiry', %s, 'Points expired', 'expire:' || m.id || ':' || %s, %s "
            f"FROM members_member m JOIN {per_member.name} x ON x.member_id = m.id",
            [run_key[:64], run_key, db_datetime(as_of)],
        )
        cursor.execute(
            "INSERT INTO members_lotallocation (entry_id, lot_id, points) "
            f"SELECT e.id, x.id, x.remaining FROM {expiring.name} x "
            "JOIN members_ledgerentry e ON e.idempotency_key = 'expire:' || x.member_id || ':' || %s",
            [run_key],
        )
        cursor.execute(
            "UPDATE members_member SET points_available = points_available - x.available, "
            f"points_pending = points_pending - x.pending FROM {per_member.name} x "
            "WHERE members_member.id = x.member_id"
        )
        points_expired_events_record(totals_table=per_member.name, as_of=as_of, created_at=db_datetime(as_of))
        cursor.execute(
            f"UPDATE members_pointlot SET remaining = 0 WHERE id IN (SELECT id FROM {expiring.name})"
        )
        cursor.execute(f"SELECT COALESCE(SUM(points), 0) FROM {per_member.name}")
        (points,) = cursor.fetchone()
    return ChunkResult(int(members), int(lots), int(points))
