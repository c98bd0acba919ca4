"""The two baselines every job is measured against, on the same data in the same run:

- the floor: one hand-written PostgreSQL statement doing the job's work for every member at
  once (data-modifying CTEs; no chunks, no locks, no bookkeeping);
- the ORM loop most Django code would write: for each member, lock the row, read with the ORM,
  decide in Python, save row by row. It is timed on a sample and counted per member.

Both run inside a transaction that is rolled back, so the job then runs on unchanged data. A
rollback skips the foreign-key checks that PostgreSQL defers to the commit (Django's foreign
keys are ``DEFERRABLE INITIALLY DEFERRED``), which every commit of the job pays; so both run
those checks (``SET CONSTRAINTS ALL IMMEDIATE``) before rolling back.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import connection, transaction

from members.jobs.reminders import REMINDER_DAYS
from members.models import (
    ExpiryReminder,
    LedgerEntry,
    LotAllocation,
    Member,
    PointLot,
    Program,
    Tier,
    TierChange,
)
from members.tiers import qualification_window_start, qualifying_value

FLOORS = {
    "recalculate_tiers": """
        WITH q AS (
            SELECT member_id, SUM(amount - refunded_amount) AS value FROM members_purchase
            WHERE purchased_at > %(start)s AND purchased_at <= %(as_of)s GROUP BY member_id
        ), d AS (
            SELECT m.id, m.tier_id AS from_id, COALESCE(cur.rank, -1) AS from_rank,
                   COALESCE(q.value, 0) AS value, t.id AS to_id, t.rank AS to_rank,
                   (m.tier_held_until IS NULL OR m.tier_held_until <= %(as_of)s) AS held_over
            FROM members_member m
            LEFT JOIN members_tier cur ON cur.id = m.tier_id
            LEFT JOIN q ON q.member_id = m.id
            CROSS JOIN LATERAL (
                SELECT id, rank FROM members_tier WHERE threshold <= COALESCE(q.value, 0)
                ORDER BY rank DESC LIMIT 1
            ) t
            WHERE m.status <> 'closed'
        ), moves AS (
            SELECT * FROM d WHERE to_rank > from_rank OR (held_over AND to_rank <= from_rank)
        ), changed AS (
            UPDATE members_member m SET tier_id = moves.to_id,
                   tier_achieved_at = CASE WHEN moves.to_rank = moves.from_rank THEN m.tier_achieved_at
                                           ELSE %(as_of)s END,
                   tier_held_until = %(held_until)s
            FROM moves WHERE m.id = moves.id
        )
        INSERT INTO members_tierchange
            (member_id, from_tier_id, to_tier_id, reason, qualifying_value, created_at)
        SELECT id, from_id, to_id, CASE WHEN held_over THEN 'requalification' ELSE 'catch_up' END,
               value, %(as_of)s
        FROM moves WHERE to_rank <> from_rank
    """,
    "expire_points": """
        WITH x AS (
            SELECT id, member_id, remaining, is_pending FROM members_pointlot
            WHERE remaining > 0 AND expires_at <= %(as_of)s
        ), per AS (
            SELECT member_id, SUM(remaining) AS points,
                   SUM(CASE WHEN is_pending THEN 0 ELSE remaining END) AS available,
                   SUM(CASE WHEN is_pending THEN remaining ELSE 0 END) AS pending
            FROM x GROUP BY member_id
        ), m AS (
            UPDATE members_member m SET points_available = m.points_available - per.available,
                   points_pending = m.points_pending - per.pending
            FROM per WHERE m.id = per.member_id
            RETURNING m.id, m.points_available + m.points_pending AS balance, per.points
        ), e AS (
            INSERT INTO members_ledgerentry (member_id, kind, points, balance_after, source_type, source_id,
                description, idempotency_key, created_at)
            SELECT id, 'expire', -points, balance, 'expiry', %(key)s, 'Points expired',
                   'floor-expire:' || id || ':' || %(key)s, %(as_of)s
            FROM m RETURNING id, member_id
        ), z AS (
            UPDATE members_pointlot l SET remaining = 0 FROM x WHERE l.id = x.id
        )
        INSERT INTO members_lotallocation (entry_id, lot_id, points)
        SELECT e.id, x.id, x.remaining FROM x JOIN e ON e.member_id = x.member_id
    """,
    "release_pending_points": """
        WITH due AS (
            UPDATE members_pointlot SET is_pending = FALSE
            WHERE is_pending AND available_at <= %(as_of)s RETURNING member_id, remaining
        )
        UPDATE members_member m SET points_available = m.points_available + d.points,
               points_pending = m.points_pending - d.points
        FROM (SELECT member_id, SUM(remaining) AS points FROM due GROUP BY member_id) d
        WHERE m.id = d.member_id
    """,
    "send_expiry_reminders": """
        INSERT INTO members_expiryreminder (member_id, expires_on, points, created_at)
        SELECT l.member_id, (l.expires_at AT TIME ZONE 'UTC')::date, SUM(l.remaining), %(as_of)s
        FROM members_pointlot l JOIN members_member m ON m.id = l.member_id
        WHERE l.remaining > 0 AND l.expires_at > %(as_of)s AND l.expires_at <= %(horizon)s
          AND m.reminder_opt_in AND m.status = 'active'
        GROUP BY 1, 2
        ON CONFLICT (member_id, expires_on) DO NOTHING
    """,
    # The contract's segment "lapsed": at least one purchase, none in the last 60 days.
    "refresh_segments": """
        INSERT INTO campaigns_segmentmember (segment_id, member_id, added_at)
        SELECT %(segment)s, m.id, %(as_of)s FROM members_member m
        WHERE m.status = 'active'
          AND EXISTS (SELECT 1 FROM members_purchase p WHERE p.member_id = m.id)
          AND NOT EXISTS (SELECT 1 FROM members_purchase p WHERE p.member_id = m.id
                          AND p.purchased_at > %(lapsed_cutoff)s)
        ON CONFLICT (segment_id, member_id) DO NOTHING
    """,
}


class FloorRun(NamedTuple):
    rows: int  # tier changes, lots expired, members released, reminders, memberships added
    checks_seconds: float  # of its time, the deferred foreign-key checks


def floor_run(name: str, *, as_of: datetime) -> FloorRun:
    """Run the hand-written statement for job ``name`` and its deferred foreign-key checks,
    then roll back."""
    program = Program.load()
    params = {
        "as_of": as_of,
        "start": qualification_window_start(program, as_of),
        "held_until": as_of + timedelta(days=program.tier_hold_days),
        "horizon": as_of + timedelta(days=REMINDER_DAYS),
        "key": as_of.isoformat(),
        "segment": _lapsed_segment_id(),
        "lapsed_cutoff": as_of - timedelta(days=60),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(FLOORS[name], params)
        rows = cursor.rowcount
        started = time.perf_counter()
        _deferred_checks_run()
        checks_seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return FloorRun(rows, checks_seconds)


def _deferred_checks_run() -> None:
    """The checks a commit would run, which the rollback would skip."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _tiers_orm(member_ids: list[int], as_of: datetime) -> None:
    program = Program.load()
    held_until = as_of + timedelta(days=program.tier_hold_days)
    for member in Member.objects.filter(pk__in=member_ids).order_by("pk"):
        with transaction.atomic():
            member = Member.objects.select_for_update(of=("self",)).select_related("tier").get(pk=member.pk)
            value = qualifying_value(member, as_of=as_of, program=program)
            target = Tier.objects.for_value(value) or Tier.objects.order_by("rank").first()
            current = member.tier.rank if member.tier else -1
            held_over = member.tier_held_until is None or member.tier_held_until <= as_of
            if target.rank > current or (held_over and target.rank < current):
                TierChange.objects.create(
                    member=member,
                    from_tier=member.tier,
                    to_tier=target,
                    reason="requalification" if held_over else "catch_up",
                    qualifying_value=value,
                    created_at=as_of,
                )
                member.tier, member.tier_achieved_at, member.tier_held_until = (
                    target,
                    as_of,
                    held_until,
                )
                member.save(update_fields=["tier", "tier_achieved_at", "tier_held_until"])
            elif held_over:
                member.tier_held_until = held_until
                member.save(update_fields=["tier_held_until"])


def _expiry_orm(member_ids: list[int], as_of: datetime) -> None:
    key = as_of.isoformat()
    for member in Member.objects.filter(pk__in=member_ids).order_by("pk"):
        with transaction.atomic():
            member = Member.objects.select_for_update().get(pk=member.pk)
            lots = list(PointLot.objects.filter(member=member, remaining__gt=0, expires_at__lte=as_of))
            if not lots:
                continue
            points = sum(lot.remaining for lot in lots)
            entry = LedgerEntry.objects.create(
                member=member,
                kind="expire",
                points=-points,
                balance_after=member.points_total - points,
                source_type="expiry",
                source_id=key,
                idempotency_key=f"orm-expire:{member.pk}:{key}",
                created_at=as_of,
            )
            for lot in lots:
                LotAllocation.objects.create(entry=entry, lot=lot, points=lot.remaining)
                if lot.is_pending:
                    member.points_pending -= lot.remaining
                else:
                    member.points_available -= lot.remaining
                lot.remaining = 0
                lot.save(update_fields=["remaining"])
            member.save(update_fields=["points_available", "points_pending"])


def _release_orm(member_ids: list[int], as_of: datetime) -> None:
    for member in Member.objects.filter(pk__in=member_ids).order_by("pk"):
        with transaction.atomic():
            member = Member.objects.select_for_update().get(pk=member.pk)
            lots = list(PointLot.objects.filter(member=member, is_pending=True, available_at__lte=as_of))
            if not lots:
                continue
            for lot in lots:
                lot.is_pending = False
                lot.save(update_fields=["is_pending"])
                member.points_available += lot.remaining
                member.points_pending -= lot.remaining
            member.save(update_fields=["points_available", "points_pending"])


def _reminders_orm(member_ids: list[int], as_of: datetime) -> None:
    horizon = as_of + timedelta(days=REMINDER_DAYS)
    members = Member.objects.filter(pk__in=member_ids, reminder_opt_in=True, status="active").order_by("pk")
    for member in members:
        per_day: dict = defaultdict(int)
        lots = PointLot.objects.filter(
            member=member, remaining__gt=0, expires_at__gt=as_of, expires_at__lte=horizon
        )
        for lot in lots:
            per_day[lot.expires_at.date()] += lot.remaining
        for day, points in per_day.items():
            ExpiryReminder.objects.get_or_create(
                member=member, expires_on=day, defaults={"points": points, "created_at": as_of}
            )


def _lapsed_segment_id() -> int | None:
    from campaigns.demo import seed_offers
    from campaigns.models import Segment

    seed_offers()
    return Segment.objects.filter(code="lapsed").values_list("pk", flat=True).first()


def _segments_orm(member_ids: list[int], as_of: datetime) -> None:
    from campaigns.models import SegmentMember

    segment_id = _lapsed_segment_id()
    cutoff = as_of - timedelta(days=60)
    for member in Member.objects.filter(pk__in=member_ids, status=Member.Status.ACTIVE):
        last = member.purchases.order_by("-purchased_at").values_list("purchased_at", flat=True).first()
        if last is not None and last <= cutoff:
            SegmentMember.objects.get_or_create(
                segment_id=segment_id, member=member, defaults={"added_at": as_of}
            )
        else:
            SegmentMember.objects.filter(segment_id=segment_id, member=member).delete()


ORM_LOOPS = {
    "refresh_segments": _segments_orm,
    "recalculate_tiers": _tiers_orm,
    "expire_points": _expiry_orm,
    "release_pending_points": _release_orm,
    "send_expiry_reminders": _reminders_orm,
}


def orm_loop_run(name: str, *, member_ids: list[int], as_of: datetime) -> None:
    """Run the per-member ORM loop for job ``name`` over ``member_ids`` and its deferred
    foreign-key checks, then roll back."""
    with transaction.atomic():
        ORM_LOOPS[name](member_ids, as_of)
        _deferred_checks_run()
        transaction.set_rollback(True)
