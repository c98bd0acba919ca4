"""The one locking helper. Every row lock the application takes goes through here, and rows are
always locked in ascending primary key, so two transactions that lock some of the same rows
queue on the first one they share and never deadlock.

- ``lock_member``: one member (with ``also``, a second member the same transaction writes to);
- ``lock_row`` / ``lock_rows``: rows of any model, chosen by a queryset;
- ``lock_member_rows``: a hand-written SELECT of member rows (the purchase's hot path: the
  member, and the referrer a first purchase may pay, with what the purchase needs to know), locked
  in one statement;
- ``lock_members_in``: every member whose id a SQL subquery selects, in one statement: how a
  set-based job locks the working set of a chunk (its scratch table's ``member_id`` column).

On SQLite (the demo database) there are no row locks: it allows one writer at a time, so the
transaction itself is the lock.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.db import connection, models

from .errors import MemberNotFound
from .models import Member

M = TypeVar("M", bound=models.Model)


def lock_rows(queryset: models.QuerySet[M]) -> list[M]:
    """Lock the rows of ``queryset`` (only its own model's rows, whatever it joins) in
    ascending primary key and return them."""
    return list(queryset.select_for_update(of=("self",)).order_by("pk"))


def lock_free_rows(queryset: models.QuerySet[M], limit: int) -> list[M]:
    """Lock up to ``limit`` rows of ``queryset`` that no other transaction holds, in ascending
    primary key, and return them: consumers of a queue (the webhook outbox) share its rows
    without waiting on each other."""
    return list(queryset.select_for_update(skip_locked=True, of=("self",)).order_by("pk")[:limit])


def lock_row(queryset: models.QuerySet[M]) -> M | None:
    """Lock the one row ``queryset`` selects and return it, or None when there is none."""
    rows = lock_rows(queryset)
    return rows[0] if rows else None


def lock_member(member_id: int, *, also: int | None = None) -> Member:
    """Lock member ``member_id`` and return it. ``also`` names a second member this
    transaction will write to (a referrer paid on the referred member's first purchase): both
    rows are locked now, in one statement and in id order, never one after the other."""
    try:
        members = (
            Member.objects.filter(pk=member_id)
            if also is None
            else Member.objects.filter(pk__in={member_id, also})
        )
        locked = {member.pk: member for member in lock_rows(members)}
    except (ValueError, TypeError):
        raise MemberNotFound() from None
    if member_id not in locked:
        raise MemberNotFound()
    return locked[member_id]


def lock_member_rows(select_sql: str, params: dict[str, Any]) -> list[tuple]:
    """Run ``select_sql``, a SELECT whose FROM names the members ``m`` (no ORDER BY), on
    PostgreSQL, locking the member rows it returns in ascending id, in one prepared statement;
    answers its rows in that order."""
    from .statements import hot_cursor

    with hot_cursor() as cursor:
        cursor.execute(f"{select_sql} ORDER BY m.id FOR UPDATE OF m", params)
        return cursor.fetchall()


def lock_members_in(member_ids_sql: str, params: list[Any] | None = None) -> None:
    """Lock, in ascending id, every member row whose id ``member_ids_sql`` selects (a subquery
    returning one column of member ids, such as ``SELECT member_id FROM <scratch table>``)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM members_member WHERE id IN ({member_ids_sql}) ORDER BY id FOR UPDATE",
            params or [],
        )
