"""Points-expiring reminders: one mail per member and expiry date, never two.

A chunk inserts the reminders that are due (``INSERT ... SELECT ... ON CONFLICT DO NOTHING``
on the unique member and date) and, after commit, mails only the rows it inserted. Running it
again, or at the same time, inserts nothing new and so mails nobody twice: the unique
constraint is what serialises two runs (the second waits on the first's rows, then skips
them), and the job writes no member or ledger row, so it takes no member locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.db import connection, transaction

from ..models import Program
from .base import Counts, db_datetime, plus_days_sql, utc_date_sql

REMINDER_DAYS = 30


@dataclass(frozen=True)
class ReminderResult(Counts):
    reminders: int = 0


def expiry_reminders_chunk(
    *, as_of: datetime, first_id: int, last_id: int, notify: bool = True, **_
) -> ReminderResult:
    """Remind the members of one id range whose points expire in the next 30 days."""
    program = Program.load()
    horizon = as_of + timedelta(days=REMINDER_DAYS)
    statements = [
        (
            "INSERT INTO members_expiryreminder (member_id, expires_on, points, created_at) "
            f"SELECT l.member_id, {utc_date_sql('l.expires_at')}, SUM(l.remaining), %s "
            "FROM members_pointlot l JOIN members_member m ON m.id = l.member_id "
            "WHERE l.member_id BETWEEN %s AND %s AND l.remaining > 0 "
            "AND l.expires_at > %s AND l.expires_at <= %s "
            "AND m.reminder_opt_in AND m.status = 'active' "
            f"GROUP BY l.member_id, {utc_date_sql('l.expires_at')} "
            "ON CONFLICT (member_id, expires_on) DO NOTHING RETURNING id",
            [db_datetime(as_of), first_id, last_id, db_datetime(as_of), db_datetime(horizon)],
        )
    ]
    if program.expiry_mode == Program.ExpiryMode.INACTIVITY:
        # Everything expires together when the member has been inactive for expiry_days.
        last_active = "COALESCE(m.last_activity_at, m.enrolled_at)"
        statements.append(
            (
                "INSERT INTO members_expiryreminder (member_id, expires_on, points, created_at) "
                f"SELECT m.id, {utc_date_sql(plus_days_sql(last_active, program.expiry_days))}, "
                "m.points_available + m.points_pending, %s "
                "FROM members_member m "
                "WHERE m.id BETWEEN %s AND %s AND m.points_available + m.points_pending > 0 "
                f"AND {last_active} > %s AND {last_active} <= %s "
                "AND m.reminder_opt_in AND m.status = 'active' "
                "ON CONFLICT (member_id, expires_on) DO NOTHING RETURNING id",
                [
                    db_datetime(as_of),
                    first_id,
                    last_id,
                    db_datetime(as_of - timedelta(days=program.expiry_days)),
                    db_datetime(horizon - timedelta(days=program.expiry_days)),
                ],
            )
        )
    reminder_ids: list[int] = []
    with transaction.atomic(), connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)
            reminder_ids += [row[0] for row in cursor.fetchall()]
        if notify and reminder_ids:
            from ..tasks import expiry_reminders_notify_task

            transaction.on_commit(partial(expiry_reminders_notify_task.delay, reminder_ids), robust=True)
    return ReminderResult(reminders=len(reminder_ids))
