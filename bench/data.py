"""Benchmark data, generated inside PostgreSQL with ``generate_series`` (no rows through Python):

- members on the tier their spend reached the night before (the job ran then), except one in
  ten left on a random tier (imports, staff changes), with holds ending over the next year and
  about 2% already ended: the work of an ordinary night;
- purchases over two years (90% in the last 365 days), amounts skewed per member so the
  qualifying spend covers every tier;
- for every purchase an earn entry and its lot (14-day return window, 365-day expiry), so the
  ledger invariants hold; about 10% of the lots are past expiry, a few percent still pending;
- the members' cached balances and last activity to match;
- the program's tiers and the default segment ``lapsed`` (at least one purchase, none in the
  last 60 days), which ``refresh_segments`` and its floor fill.

Secondary indexes are dropped during the load and rebuilt after, foreign-key triggers are off
for the session (``session_replication_role = replica``), and the tables are analysed at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction

from campaigns.demo import seed_offers
from members.demo import seed_program
from members.models import Store, Tier

BIG_TABLES = ["members_member", "members_purchase", "members_ledgerentry", "members_pointlot"]
TRUNCATED = [
    "members_lotallocation",
    "members_pointlot",
    "members_ledgerentry",
    "members_tierchange",
    "members_expiryreminder",
    "members_purchaseline",
    "members_refund",
    "members_purchase",
    "members_member",
    "members_jobrun",
]

_SECONDARY_INDEXES = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = ANY(%s)
  AND i.indexname NOT IN (
      SELECT c.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conindid
      WHERE k.conindid <> 0
  )
"""


def bench_data_generate(
    *,
    members: int,
    purchases: int,
    now: datetime,
    seed: float = 0.42,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, float]:
    """Replace the benchmark database's members, purchases and ledger with generated ones (the
    same ones for the same sizes and ``seed``); returns the seconds each step took."""
    timings: dict[str, float] = {}

    def step(name: str, sql: str, params: dict | None = None) -> None:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, params or {})
        timings[name] = round(time.perf_counter() - started, 2)
        log(f"  {name}: {timings[name]:.1f} s")

    seed_program()
    seed_offers()  # the default segment "lapsed", which refresh_segments and its floor refresh
    store, _ = Store.objects.get_or_create(code="bench", defaults={"name": "Bench store"})
    tiers = dict(Tier.objects.values_list("code", "id"))
    params = {"now": now, "members": members, "purchases": purchases, "store": store.pk, **tiers}
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(TRUNCATED) + " RESTART IDENTITY CASCADE")
        cursor.execute(_SECONDARY_INDEXES, [BIG_TABLES])
        indexes = cursor.fetchall()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SELECT setseed(%s)", [seed])
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        step(
            "members",
            """
            INSERT INTO members_member (member_number, email, first_name, last_name, phone, status,
                enrolled_at, referral_code, tier_id, tier_achieved_at, tier_held_until,
                points_available, points_pending, marketing_opt_in, reminder_opt_in)
            SELECT 'B' || g, 'm' || g || '@bench.example', 'Member', g::text, '', 'active',
                   %(now)s - INTERVAL '800 days', 'B' || g,
                   CASE WHEN r < 0.55 THEN %(bronze)s WHEN r < 0.80 THEN %(silver)s
                        WHEN r < 0.95 THEN %(gold)s ELSE %(platinum)s END,
                   held - INTERVAL '365 days', held, 0, 0, FALSE, g %% 10 <> 0
            FROM (SELECT g, random() AS r,
                         %(now)s + (random() * 372 - 7) * INTERVAL '1 day' AS held
                  FROM generate_series(1::bigint, %(members)s) g) s
            """,
            params,
        )
        step(
            "purchases",
            """
            INSERT INTO members_purchase (member_id, store_id, external_id, amount, currency,
                purchased_at, available_at, points_awarded, refunded_amount, points_reversed,
                payload_digest, created_at)
            SELECT member_id, %(store)s, 'b' || g, amount, 'USD', at, at + INTERVAL '14 days',
                   floor(amount)::int, 0, 0, '', at
            FROM (
                SELECT g, member_id,
                       round((1 + random() ^ 3 * 400 * power(((member_id * 2654435761) %% 1000) / 1000.0, 2)
                              * 6)::numeric, 2) AS amount,
                       %(now)s - (CASE WHEN random() < 0.9 THEN random() * 365
                                       ELSE 365 + random() * 365 END) * INTERVAL '1 day' AS at
                FROM (SELECT g, 1 + (g * 7919 + (g / %(members)s)) %% %(members)s AS member_id
                      FROM generate_series(1::bigint, %(purchases)s) g) p
            ) s
            """,
            params,
        )
        step(
            "ledger entries and lots",
            """
            WITH e AS (
                INSERT INTO members_ledgerentry (member_id, kind, points, balance_after, source_type,
                    source_id, description, idempotency_key, created_at)
                SELECT member_id, 'earn', points_awarded,
                       SUM(points_awarded) OVER (PARTITION BY member_id ORDER BY purchased_at, id),
                       'purchase', id::text, 'Purchase', 'bench:' || id, purchased_at
                FROM members_purchase ORDER BY member_id, purchased_at, id
                RETURNING id, member_id, points, created_at
            )
            INSERT INTO members_pointlot (member_id, entry_id, points, remaining, is_pending,
                available_at, expires_at, created_at)
            SELECT member_id, id, points, points, created_at + INTERVAL '14 days' > %(now)s,
                   created_at + INTERVAL '14 days', created_at + INTERVAL '365 days', created_at
            FROM e
            """,
            params,
        )
        step(
            "member balances",
            """
            UPDATE members_member m SET points_available = x.available, points_pending = x.pending,
                   last_activity_at = x.last_at
            FROM (SELECT member_id,
                         SUM(CASE WHEN is_pending THEN 0 ELSE remaining END) AS available,
                         SUM(CASE WHEN is_pending THEN remaining ELSE 0 END) AS pending,
                         MAX(created_at) AS last_at
                  FROM members_pointlot GROUP BY member_id) x
            WHERE m.id = x.member_id
            """,
            params,
        )
        step(
            "tiers as of last night",
            """
            UPDATE members_member m SET tier_id = t.id
            FROM (SELECT mm.id, COALESCE(q.value, 0) AS value FROM members_member mm
                  LEFT JOIN (SELECT member_id, SUM(amount - refunded_amount) AS value
                             FROM members_purchase
                             WHERE purchased_at > %(now)s - INTERVAL '366 days'
                               AND purchased_at <= %(now)s - INTERVAL '1 day'
                             GROUP BY member_id) q ON q.member_id = mm.id
                  WHERE (mm.id * 2654435761) %% 10 <> 0) v
            CROSS JOIN LATERAL (SELECT id FROM members_tier WHERE threshold <= v.value
                                ORDER BY rank DESC LIMIT 1) t
            WHERE m.id = v.id
            """,
            params,
        )
        started = time.perf_counter()
        for _name, definition in indexes:
            cursor.execute(definition)
        timings["indexes"] = round(time.perf_counter() - started, 2)
        log(f"  indexes: {timings['indexes']:.1f} s")
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in [
            *BIG_TABLES,
            "members_lotallocation",
            "members_tierchange",
            "members_expiryreminder",
        ]:
            cursor.execute(f"VACUUM ANALYZE {table}")
    timings["vacuum analyze"] = round(time.perf_counter() - started, 2)
    log(f"  vacuum analyze: {timings['vacuum analyze']:.1f} s")
    return timings
