"""Set-based credits, for jobs that pay many members at once (campaign settlement, birthday
bonuses): what ``points_credit`` does for one member, done for every row of a chunk's scratch
table in a handful of statements, never a loop over members.

Like ``points_credit``, each credit is an entry with the member's balance after it, a lot that
is available at once and expires as the program says, a debt left by a refund paid first out of
the new lot (recorded as an allocation), and the cached balance and last activity moved on.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from ..models import LedgerEntry, Program
from .base import ScratchTable, db_datetime

CREDIT_KINDS = (LedgerEntry.Kind.EARN, LedgerEntry.Kind.BONUS)


def points_credit_listed(
    *, table: str, kind: str, source_type: str, source_id: str, description: str, now: datetime
) -> tuple[int, int]:
    """Credit every row of scratch table ``table`` (columns ``member_id``, ``points``,
    ``idempotency_key``) as of ``now``; returns (members, points).

    The caller has locked those members (``members.locks.lock_members_in``) and decided under
    the locks that each row is due: one row per active member, points above zero, a key no
    entry holds yet (the unique key refuses a second credit all the same)."""
    if kind not in CREDIT_KINDS:
        raise ValueError(f"A job credits earn or bonus entries, not {kind!r}.")
    program = Program.load()
    now_db = db_datetime(now)
    expires_at = program.lot_expiry(now)
    with connection.cursor() as cursor, ScratchTable(cursor, "job_credited") as credited:
        cursor.execute(
            "INSERT INTO members_ledgerentry (member_id, kind, points, balance_after, source_type, "
            "source_id, description, idempotency_key, created_at) "
            "SELECT c.member_id, %s, c.points, m.points_available + m.points_pending + c.points, "
            "%s, %s, %s, c.idempotency_key, %s "
            f"FROM {table} c JOIN members_member m ON m.id = c.member_id",
            [kind, source_type, source_id[:64], description[:255], now_db],
        )
        # What the member owes (a negative available balance) is paid first, from the new lot.
        members = credited.fill(
            "SELECT e.id AS entry_id, e.member_id, e.points, "
            "CASE WHEN m.points_available >= 0 THEN 0 "
            "     WHEN -m.points_available < e.points THEN -m.points_available "
            "     ELSE e.points END AS debt_paid "
            f"FROM {table} c JOIN members_ledgerentry e ON e.idempotency_key = c.idempotency_key "
            "JOIN members_member m ON m.id = c.member_id",
            [],
        )
        if not members:
            return 0, 0
        cursor.execute(
            "INSERT INTO members_pointlot (member_id, entry_id, points, remaining, is_pending, "
            "available_at, expires_at, created_at) "
            f"SELECT member_id, entry_id, points, points - debt_paid, FALSE, %s, %s, %s FROM {credited.name}",
            [now_db, None if expires_at is None else db_datetime(expires_at), now_db],
        )
        cursor.execute(
            "INSERT INTO members_lotallocation (entry_id, lot_id, points) "
            f"SELECT x.entry_id, l.id, x.debt_paid FROM {credited.name} x "
            "JOIN members_pointlot l ON l.entry_id = x.entry_id WHERE x.debt_paid > 0"
        )
        cursor.execute(
            "UPDATE members_member SET points_available = points_available + x.points, "
            "last_activity_at = CASE WHEN last_activity_at IS NULL OR last_activity_at < %s "
            "THEN %s ELSE last_activity_at END "
            f"FROM {credited.name} x WHERE members_member.id = x.member_id",
            [now_db, now_db],
        )
        cursor.execute(f"SELECT COALESCE(SUM(points), 0) FROM {credited.name}")
        (points,) = cursor.fetchone()
    return int(members), int(points)
