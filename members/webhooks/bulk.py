"""Events of the set-based jobs: one per member the chunk changed, written from the chunk's
scratch table with one ``INSERT ... SELECT`` in the chunk's transaction, so a job pays one
statement per chunk for its events, whatever the number of members."""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from .events import events_record_sql, json_object_sql


def _iso(as_of: datetime) -> str:
    return as_of.isoformat()


def points_expired_events_record(*, totals_table: str, as_of: datetime, created_at) -> int:
    """``points.expired`` for each member of ``totals_table`` (``member_id``, ``points``), after
    their balances were lowered."""
    data = json_object_sql(
        {
            "points": "x.points",
            "balance": "m.points_available + m.points_pending",
            "expired_at": "CAST(%s AS TEXT)",
        }
    )
    with connection.cursor() as cursor:
        return events_record_sql(
            cursor,
            type="points.expired",
            rows_sql=f"SELECT x.member_id, CAST(NULL AS BIGINT) AS store_id, {data} AS data "
            f"FROM {totals_table} x JOIN members_member m ON m.id = x.member_id",
            params=[_iso(as_of)],
            created_at=created_at,
        )


def tier_changed_events_record(*, moves_table: str, as_of: datetime, created_at) -> int:
    """``tier.changed`` for each member of ``moves_table`` that moved up or down (the tier
    job's decisions: ``member_id``, ``from_tier_id``, ``to_tier_id``, ``move``, ``hold_ended``)."""
    data = json_object_sql(
        {
            "from_tier": "f.code",
            "to_tier": "t.code",
            "reason": "CASE WHEN x.hold_ended = 1 THEN 'requalification' ELSE 'catch_up' END",
            "changed_at": "CAST(%s AS TEXT)",
        }
    )
    with connection.cursor() as cursor:
        return events_record_sql(
            cursor,
            type="tier.changed",
            rows_sql=f"SELECT x.member_id, CAST(NULL AS BIGINT) AS store_id, {data} AS data "
            f"FROM {moves_table} x "
            "LEFT JOIN members_tier f ON f.id = x.from_tier_id JOIN members_tier t ON t.id = x.to_tier_id "
            "WHERE x.move IN ('up', 'down')",
            params=[_iso(as_of)],
            created_at=created_at,
        )
