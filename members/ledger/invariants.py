"""The ledger's invariants, checked for every member in a few set-based queries.

1. ``points_available + points_pending`` equals the sum of the member's entries, and each
   entry's ``balance_after`` equals the sum of the entries up to it (the latest is checked).
2. ``points_pending`` equals what is left in pending lots; ``points_available`` equals what is
   left in available lots, unless it is negative: a debt is allowed only after a reversal, and
   only while every lot is empty.
3. Every lot's ``points - remaining`` equals what its allocations took from it.
4. Every redeem and expire entry, and every transfer out, took exactly its points from lots.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection


@dataclass(frozen=True)
class Violation:
    member_id: int
    member_number: str
    rule: str
    detail: str


_BALANCES = """
SELECT m.id, m.member_number, m.points_available, m.points_pending,
       COALESCE(e.total, 0), COALESCE(e.reversals, 0), COALESCE(l.available, 0),
       COALESCE(l.pending, 0), latest.balance_after
FROM members_member m
LEFT JOIN (
    SELECT member_id, SUM(points) AS total,
           SUM(CASE WHEN kind = 'reversal' AND points < 0 THEN 1 ELSE 0 END) AS reversals
    FROM members_ledgerentry GROUP BY member_id
) e ON e.member_id = m.id
LEFT JOIN (
    SELECT member_id,
           SUM(CASE WHEN is_pending THEN 0 ELSE remaining END) AS available,
           SUM(CASE WHEN is_pending THEN remaining ELSE 0 END) AS pending
    FROM members_pointlot GROUP BY member_id
) l ON l.member_id = m.id
LEFT JOIN members_ledgerentry latest ON latest.id = (
    SELECT MAX(id) FROM members_ledgerentry WHERE member_id = m.id
)
WHERE m.points_available + m.points_pending <> COALESCE(e.total, 0)
   OR m.points_pending <> COALESCE(l.pending, 0)
   OR (m.points_available >= 0 AND m.points_available <> COALESCE(l.available, 0))
   OR (m.points_available < 0 AND (COALESCE(l.available, 0) <> 0 OR COALESCE(l.pending, 0) <> 0
                                   OR COALESCE(e.reversals, 0) = 0))
   OR (latest.id IS NOT NULL AND latest.balance_after <> COALESCE(e.total, 0))
"""

_LOTS = """
SELECT l.member_id, m.member_number, l.id, l.points, l.remaining, COALESCE(a.taken, 0)
FROM members_pointlot l
JOIN members_member m ON m.id = l.member_id
LEFT JOIN (SELECT lot_id, SUM(points) AS taken FROM members_lotallocation GROUP BY lot_id) a
       ON a.lot_id = l.id
WHERE l.points - l.remaining <> COALESCE(a.taken, 0)
"""

_DEBITS = """
SELECT e.member_id, m.member_number, e.id, e.kind, e.points, COALESCE(a.taken, 0)
FROM members_ledgerentry e
JOIN members_member m ON m.id = e.member_id
LEFT JOIN (SELECT entry_id, SUM(points) AS taken FROM members_lotallocation GROUP BY entry_id) a
       ON a.entry_id = e.id
WHERE (e.kind IN ('redeem', 'expire') OR (e.kind = 'transfer' AND e.points < 0))
  AND -e.points <> COALESCE(a.taken, 0)
"""


def ledger_violations() -> list[Violation]:
    violations: list[Violation] = []
    with connection.cursor() as cursor:
        cursor.execute(_BALANCES)
        for member_id, number, available, pending, total, reversals, lot_avail, lot_pend, latest in cursor:
            violations.append(
                Violation(
                    member_id,
                    number,
                    "balances",
                    f"available {available}, pending {pending}; entries sum {total}, latest "
                    f"balance_after {latest}; lots hold {lot_avail} available, {lot_pend} "
                    f"pending; {reversals} reversals",
                )
            )
        cursor.execute(_LOTS)
        for member_id, number, lot_id, points, remaining, taken in cursor:
            violations.append(
                Violation(
                    member_id,
                    number,
                    "lot",
                    f"lot {lot_id}: {points} points, {remaining} remaining, allocations took {taken}",
                )
            )
        cursor.execute(_DEBITS)
        for member_id, number, entry_id, kind, points, taken in cursor:
            violations.append(
                Violation(
                    member_id,
                    number,
                    "debit",
                    f"{kind} entry {entry_id} of {points} points took {taken} from lots",
                )
            )
    return violations
