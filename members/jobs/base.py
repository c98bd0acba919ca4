"""What every set-based job shares: member-id ranges, scratch tables, the few SQL spellings that
differ between PostgreSQL and SQLite, and result counters. Chunks lock their members with
``members.locks.lock_members_in``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Self

from django.conf import settings
from django.db import connection
from django.db.models import Max, Min

from ..models import Member


@dataclass(frozen=True)
class Counts:
    """Counters a chunk returns; they add up over chunks."""

    def __add__(self, other: Self) -> Self:
        return type(self)(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    @property
    def rows_changed(self) -> int:
        """The rows the job changed; by default the first counter."""
        return getattr(self, fields(self)[0].name)

    def as_text(self) -> str:
        return ", ".join(f"{f.name.replace('_', ' ')} {getattr(self, f.name)}" for f in fields(self))


@dataclass(frozen=True)
class ChunkResult(Counts):
    """Members touched, lots changed and points moved by a ledger job."""

    members: int = 0
    lots: int = 0
    points: int = 0

    @property
    def rows_changed(self) -> int:
        return self.lots


def member_id_ranges(
    chunk_size: int | None = None, *, first_id: int | None = None, last_id: int | None = None
) -> Iterator[tuple[int, int]]:
    """Consecutive inclusive id ranges covering every member (or those between ``first_id``
    and ``last_id``)."""
    chunk_size = chunk_size or settings.LOYALTY_JOB_CHUNK_SIZE
    members = Member.objects.all()
    if first_id is not None:
        members = members.filter(id__gte=first_id)
    if last_id is not None:
        members = members.filter(id__lte=last_id)
    bounds = members.aggregate(low=Min("id"), high=Max("id"))
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, chunk_size):
        yield start, min(start + chunk_size - 1, bounds["high"])


def db_datetime(value: datetime) -> Any:
    """A datetime as the database compares it in raw SQL (naive UTC text on SQLite)."""
    return connection.ops.adapt_datetimefield_value(value)


def utc_date_sql(column: str) -> str:
    """SQL for the UTC calendar date of a timestamp column."""
    if connection.vendor == "postgresql":
        return f"(({column}) AT TIME ZONE 'UTC')::date"
    return f"date({column})"


def plus_days_sql(column: str, days: int) -> str:
    """SQL for a timestamp column plus a whole number of days."""
    days = int(days)
    if connection.vendor == "postgresql":
        return f"(({column}) + INTERVAL '{days} days')"
    return f"datetime({column}, '+{days} days')"


class ScratchTable:
    """A temporary table that lives for one chunk: the chunk's working set is computed once and
    every statement of the chunk reads it from there."""

    def __init__(self, cursor, name: str) -> None:
        self.cursor = cursor
        self.name = name

    def __enter__(self) -> ScratchTable:
        return self

    def fill(self, select_sql: str, params: list[Any]) -> int:
        """Fill the table from ``select_sql``; returns how many rows it holds."""
        self.cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
        self.cursor.execute(f"CREATE TEMPORARY TABLE {self.name} AS {select_sql}", params)
        self.cursor.execute(f"SELECT COUNT(*) FROM {self.name}")
        return self.cursor.fetchone()[0]

    def __exit__(self, *exc_info) -> None:
        if exc_info[0] is None:
            self.cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
