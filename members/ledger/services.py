"""Writes to the points ledger. Each function is one transaction that locks the member row
first, is idempotent by key, and either writes everything or nothing.

A debit takes points from the member's available lots, soonest-expiring first. A reversal
claws back what a source credited, from that source's own lots first; when those points were
already spent it takes from other lots and, past that, leaves a negative balance (a debt) that
the next points to arrive pay off. A restoration gives a debit's points back to the very lots
they came from, so they keep their original expiry.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Sum
from django.utils import timezone

from .. import config
from ..errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidPoints,
    InvalidRequest,
    MemberInactive,
    NothingToReverse,
)
from ..locks import lock_member
from ..models import (
    MAX_BALANCE,
    MAX_POINTS,
    LedgerEntry,
    LotAllocation,
    Member,
    PointLot,
    Store,
    User,
)
from ..statements import hot_cursor

Kind = LedgerEntry.Kind
Source = LedgerEntry.Source
# The order debits take lots in: available before pending, soonest-expiring first.
LOT_ORDER = ("is_pending", F("expires_at").asc(nulls_last=True), "id")


@dataclass(frozen=True)
class Posting:
    """What a ledger service did: the entry, and whether this call created it (False on a
    replay of the same idempotency key)."""

    entry: LedgerEntry
    created: bool


@dataclass(frozen=True)
class Credit:
    """One credit of ``points_credit_locked``: its own entry and its own lot."""

    points: int
    idempotency_key: str
    kind: str = Kind.EARN
    description: str = ""


CREDIT_KINDS = (Kind.EARN, Kind.BONUS, Kind.ADJUST, Kind.REVERSAL)
DEBIT_KINDS = (Kind.REDEEM, Kind.ADJUST)


def points_credit(
    *,
    member_id: int,
    points: int,
    idempotency_key: str,
    source_type: str,
    source_id: str = "",
    kind: str = Kind.EARN,
    description: str = "",
    earned_at: datetime | None = None,
    available_at: datetime | None = None,
    created_by: User | None = None,
    store: Store | None = None,
    now: datetime | None = None,
) -> Posting:
    """Credit ``points`` into a new lot. The lot is pending until ``available_at`` (default:
    at once) and expires as the program says, counted from ``earned_at``. ``store``: the store
    whose purchase or activity earned them."""
    _check_points(points)
    _check_key(idempotency_key)
    if kind not in CREDIT_KINDS:
        raise InvalidRequest(f"A credit cannot be of kind {kind!r}.")
    with transaction.atomic():
        member = lock_member(member_id)
        if replay := _replay(idempotency_key, member=member, kind=kind, points=points):
            return replay
        (entry,) = points_credit_locked(
            member=member,
            credits=[Credit(points, idempotency_key, kind, description)],
            source_type=source_type,
            source_id=source_id,
            earned_at=earned_at,
            available_at=available_at,
            created_by=created_by,
            store=store,
            now=now,
        )
        return Posting(entry, created=True)


def points_credit_locked(
    *,
    member: Member,
    credits: Sequence[Credit],
    source_type: str,
    source_id: str = "",
    earned_at: datetime | None = None,
    available_at: datetime | None = None,
    created_by: User | None = None,
    store: Store | None = None,
    now: datetime | None = None,
) -> list[LedgerEntry]:
    """``points_credit`` for a caller that already holds ``member`` locked in its open
    transaction (and has not changed its balances since): each credit opens its own lot, all
    from one source with the same dates. On PostgreSQL the entries, the lots and the balances
    are one statement. There is no replay check: every key must be new, and a key in use is
    ``IdempotencyConflict``, after which the caller's transaction can only roll back."""
    plan = _CreditPlan.make(member, credits, earned_at, available_at, now)
    if not plan.one_statement:
        return _credit_rows(member, credits, source_type, source_id, plan, created_by, store)
    statement = _credit_statement(member, credits, source_type, source_id, plan, created_by, store)
    with hot_cursor() as cursor:
        try:
            cursor.execute(f"WITH {statement.ctes} SELECT id FROM ledger_entry ORDER BY id", statement.params)
        except IntegrityError:
            raise IdempotencyConflict() from None
        ids = [row[0] for row in cursor.fetchall()]
    for entry, entry_id in zip(statement.entries, ids, strict=True):
        entry.pk = entry_id
    return statement.entries


@dataclass(frozen=True)
class CreditStatement:
    """A credit to write inside a caller's own statement: ``ctes`` are its common table
    expressions (``ledger_entry``, ``ledger_lot``, ``ledger_balance``) to put in a ``WITH``, and
    ``params`` their named parameters (all ``ledger_...``). The member's balances have already
    moved in memory; the caller runs the statement in the transaction that holds the lock, and a
    key in use fails it (``IdempotencyConflict``)."""

    ctes: str
    params: dict[str, Any]
    entries: list[LedgerEntry]  # what it writes, without their ids


def points_credit_statement(
    *,
    member: Member,
    credits: Sequence[Credit],
    source_type: str,
    source_id: str,
    earned_at: datetime | None = None,
    available_at: datetime | None = None,
    store: Store | None = None,
    now: datetime | None = None,
) -> CreditStatement | None:
    """``points_credit_locked`` as part of the caller's statement (a purchase writes itself and
    its points at once), or None when the credit must be written a row at a time (points that
    first pay off a debt, or a database other than PostgreSQL): then call
    ``points_credit_locked``."""
    plan = _CreditPlan.make(member, credits, earned_at, available_at, now)
    if not plan.one_statement:
        return None
    return _credit_statement(member, credits, source_type, source_id, plan, None, store)


@dataclass(frozen=True)
class _CreditPlan:
    now: datetime
    available_at: datetime
    expires_at: datetime | None
    one_statement: bool

    @classmethod
    def make(
        cls,
        member: Member,
        credits: Sequence[Credit],
        earned_at: datetime | None,
        available_at: datetime | None,
        now: datetime | None,
    ) -> _CreditPlan:
        for credit in credits:
            _check_points(credit.points)
            _check_key(credit.idempotency_key)
            if credit.kind not in CREDIT_KINDS:
                raise InvalidRequest(f"A credit cannot be of kind {credit.kind!r}.")
        if member.status in (Member.Status.CLOSED, Member.Status.ERASED):
            raise MemberInactive()
        now = now or timezone.now()
        return cls(
            now=now,
            available_at=available_at or now,
            expires_at=config.program().lot_expiry(earned_at or now),
            one_statement=not _debt(member) and connection.vendor == "postgresql",
        )


def _credit_statement(
    member: Member,
    credits: Sequence[Credit],
    source_type: str,
    source_id: str,
    plan: _CreditPlan,
    created_by: User | None,
    store: Store | None,
) -> CreditStatement:
    now, pending = plan.now, plan.available_at > plan.now
    entries, total = [], member.points_total
    for credit in credits:
        total += credit.points
        _check_range(total)
        entries.append(
            LedgerEntry(
                member=member,
                kind=credit.kind,
                points=credit.points,
                balance_after=total,
                source_type=source_type,
                source_id=source_id,
                description=credit.description,
                idempotency_key=credit.idempotency_key,
                created_by=created_by,
                store=store,
                created_at=now,
            )
        )
    points = sum(credit.points for credit in credits)
    if pending:
        member.points_pending += points
    else:
        member.points_available += points
    member.last_activity_at = max(member.last_activity_at or now, now)
    _check_balances(member, total)
    rows = [
        {
            "kind": entry.kind,
            "points": entry.points,
            "balance_after": entry.balance_after,
            "description": entry.description,
            "key": entry.idempotency_key,
        }
        for entry in entries
    ]
    params = {
        "ledger_member": member.pk,
        "ledger_credits": json.dumps(rows),
        "ledger_source_type": source_type,
        "ledger_source_id": source_id,
        "ledger_created_by": created_by.pk if created_by else None,
        "ledger_store": store.pk if store else None,
        "ledger_now": now,
        "ledger_pending": pending,
        "ledger_available_at": plan.available_at,
        "ledger_expires_at": plan.expires_at,
        "ledger_available": member.points_available,
        "ledger_pending_total": member.points_pending,
        "ledger_last_activity_at": member.last_activity_at,
    }
    return CreditStatement(_CREDIT_CTES, params, entries)


# The entries (in order, so their ids follow their balances), a lot for each, and the member's
# cached balances.
_CREDIT_CTES = """
ledger_entry AS (
    INSERT INTO members_ledgerentry (member_id, kind, points, balance_after, source_type, source_id,
                                     description, idempotency_key, created_by_id, store_id, created_at)
    SELECT %(ledger_member)s, c.kind, c.points, c.balance_after, %(ledger_source_type)s,
           %(ledger_source_id)s, c.description, c.key, %(ledger_created_by)s::bigint,
           %(ledger_store)s::bigint, %(ledger_now)s
    FROM jsonb_to_recordset(%(ledger_credits)s::jsonb)
         AS c (kind varchar, points bigint, balance_after bigint, description varchar, key varchar)
    ORDER BY c.balance_after
    RETURNING id, points
), ledger_lot AS (
    INSERT INTO members_pointlot (member_id, entry_id, points, remaining, is_pending, available_at,
                                  expires_at, created_at)
    SELECT %(ledger_member)s, ledger_entry.id, ledger_entry.points, ledger_entry.points,
           %(ledger_pending)s, %(ledger_available_at)s, %(ledger_expires_at)s::timestamptz, %(ledger_now)s
    FROM ledger_entry
), ledger_balance AS (
    UPDATE members_member
    SET points_available = %(ledger_available)s, points_pending = %(ledger_pending_total)s,
        last_activity_at = %(ledger_last_activity_at)s
    WHERE id = %(ledger_member)s
)
"""


def _credit_rows(
    member: Member,
    credits: Sequence[Credit],
    source_type: str,
    source_id: str,
    plan: _CreditPlan,
    created_by: User | None,
    store: Store | None,
) -> list[LedgerEntry]:
    """The same as ``_CREDIT_CTES``, a row at a time: on other databases, and when the points
    first pay off a debt (which takes them from the new lots with allocations)."""
    now, available_at, expires_at = plan.now, plan.available_at, plan.expires_at
    entries = []
    for credit in credits:
        debt = _debt(member)
        entry = _write_entry(
            member,
            kind=credit.kind,
            points=credit.points,
            idempotency_key=credit.idempotency_key,
            source_type=source_type,
            source_id=source_id,
            description=credit.description,
            created_by=created_by,
            store=store,
            now=now,
        )
        lot = PointLot.objects.create(
            member=member,
            entry=entry,
            points=credit.points,
            remaining=credit.points,
            is_pending=available_at > now,
            available_at=available_at,
            expires_at=expires_at,
            created_at=now,
        )
        if lot.is_pending:
            member.points_pending += credit.points
        else:
            member.points_available += credit.points
        _settle_debt(member, entry, debt, lots=[lot])
        entries.append(entry)
    member.last_activity_at = max(member.last_activity_at or now, now)
    _save_balances(member, entries[-1])
    return entries


def points_debit(
    *,
    member_id: int,
    points: int,
    idempotency_key: str,
    source_type: str,
    source_id: str = "",
    kind: str = Kind.REDEEM,
    description: str = "",
    created_by: User | None = None,
    store: Store | None = None,
    now: datetime | None = None,
) -> Posting:
    """Spend ``points`` of the available balance, soonest-expiring lots first. Never
    overdraws: with too few points it raises ``InsufficientPoints`` and writes nothing.
    ``store``: the store whose redemption spends them."""
    _check_points(points)
    _check_key(idempotency_key)
    if kind not in DEBIT_KINDS:
        raise InvalidRequest(f"A debit cannot be of kind {kind!r}.")
    with transaction.atomic():
        member = lock_member(member_id)
        if replay := _replay(idempotency_key, member=member, kind=kind, points=-points):
            return replay
        entry = points_debit_locked(
            member=member,
            points=points,
            idempotency_key=idempotency_key,
            source_type=source_type,
            source_id=source_id,
            kind=kind,
            description=description,
            created_by=created_by,
            store=store,
            now=now,
        )
        return Posting(entry, created=True)


def points_debit_locked(
    *,
    member: Member,
    points: int,
    idempotency_key: str,
    source_type: str,
    source_id: str = "",
    kind: str = Kind.REDEEM,
    description: str = "",
    created_by: User | None = None,
    store: Store | None = None,
    now: datetime | None = None,
) -> LedgerEntry:
    """``points_debit`` for a caller that already holds ``member`` locked in its open
    transaction (and has not changed its balances since). On PostgreSQL the entry, the lots it
    takes, their allocations and the balance are one statement. No replay check: the key must be
    new, and a key in use is ``IdempotencyConflict``, after which the caller's transaction can
    only roll back."""
    _check_points(points)
    _check_key(idempotency_key)
    if kind not in DEBIT_KINDS:
        raise InvalidRequest(f"A debit cannot be of kind {kind!r}.")
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive()
    if member.points_available < points:
        raise InsufficientPoints(
            f"The member has {max(member.points_available, 0)} points available; {points} are needed."
        )
    now = now or timezone.now()
    balance_after = member.points_total - points
    _check_range(balance_after)
    member.last_activity_at = max(member.last_activity_at or now, now)
    if connection.vendor != "postgresql":
        entry = _write_entry(
            member,
            kind=kind,
            points=-points,
            idempotency_key=idempotency_key,
            source_type=source_type,
            source_id=source_id,
            description=description,
            created_by=created_by,
            store=store,
            now=now,
        )
        taken = _take(member, entry, points, _open_lots(member, pending=False))
        _check_taken(member, taken, points)
        _save_balances(member, entry)
        return entry
    member.points_available -= points
    _check_balances(member, balance_after)
    with hot_cursor() as cursor:
        try:
            cursor.execute(
                _DEBIT_SQL,
                {
                    "member": member.pk,
                    "kind": kind,
                    "points": points,
                    "balance_after": balance_after,
                    "source_type": source_type,
                    "source_id": source_id,
                    "description": description,
                    "key": idempotency_key,
                    "created_by": created_by.pk if created_by else None,
                    "store": store.pk if store else None,
                    "now": now,
                    "available": member.points_available,
                    "last_activity_at": member.last_activity_at,
                },
            )
        except IntegrityError:
            raise IdempotencyConflict() from None
        entry_id, taken = cursor.fetchone()
    _check_taken(member, taken, points)
    return LedgerEntry(
        pk=entry_id,
        member=member,
        kind=kind,
        points=-points,
        balance_after=balance_after,
        source_type=source_type,
        source_id=source_id,
        description=description,
        idempotency_key=idempotency_key,
        created_by=created_by,
        store=store,
        created_at=now,
    )


# The entry, the available lots it empties soonest-expiring first (LOT_ORDER) with an
# allocation each, and the member's balance, in one statement; it answers what the lots gave.
_DEBIT_SQL = """
WITH entry AS (
    INSERT INTO members_ledgerentry (member_id, kind, points, balance_after, source_type, source_id,
                                     description, idempotency_key, created_by_id, store_id, created_at)
    VALUES (%(member)s, %(kind)s, -%(points)s, %(balance_after)s, %(source_type)s, %(source_id)s,
            %(description)s, %(key)s, %(created_by)s::bigint, %(store)s::bigint, %(now)s)
    RETURNING id
), open AS (
    SELECT id, remaining,
           SUM(remaining) OVER (ORDER BY expires_at ASC NULLS LAST, id) - remaining AS before
    FROM members_pointlot
    WHERE member_id = %(member)s AND remaining > 0 AND NOT is_pending
), take AS (
    SELECT id, LEAST(remaining, %(points)s - before) AS points FROM open WHERE before < %(points)s
), taken AS (
    UPDATE members_pointlot lot SET remaining = lot.remaining - take.points
    FROM take WHERE lot.id = take.id
    RETURNING lot.id, take.points
), allocation AS (
    INSERT INTO members_lotallocation (entry_id, lot_id, points)
    SELECT entry.id, taken.id, taken.points FROM entry, taken
), balance AS (
    UPDATE members_member SET points_available = %(available)s, last_activity_at = %(last_activity_at)s
    WHERE id = %(member)s
)
SELECT entry.id, (SELECT COALESCE(SUM(points), 0) FROM taken) FROM entry
"""


def _check_taken(member: Member, taken: int, points: int) -> None:
    if taken != points:  # the cache said there were enough: the ledger disagrees with itself
        raise RuntimeError(f"Member {member.pk}: available lots hold less than the balance.")


def points_reverse(
    *,
    member_id: int,
    source_type: str,
    source_id: str,
    idempotency_key: str,
    points: int | None = None,
    description: str = "",
    now: datetime | None = None,
) -> Posting:
    """Claw back ``points`` (default: all that is left) of what one source credited.

    The source's own lots give first, then the member's other lots (available, then pending,
    soonest-expiring first); what is still missing leaves the available balance negative. The
    reversal belongs to the store the credits did.
    """
    if points is not None:
        _check_points(points)
    _check_key(idempotency_key)
    now = now or timezone.now()
    with transaction.atomic():
        member = lock_member(member_id)
        if replay := _replay(
            idempotency_key,
            member=member,
            kind=Kind.REVERSAL,
            points=None if points is None else -points,
            sign=-1,
        ):
            return replay
        source_entries = LedgerEntry.objects.filter(
            member=member, source_type=source_type, source_id=source_id
        )
        credits = source_entries.filter(points__gt=0).aggregate(s=Sum("points"), store=Max("store_id"))
        credited = credits["s"] or 0
        reversed_ = -(
            source_entries.filter(kind=Kind.REVERSAL, points__lt=0).aggregate(s=Sum("points"))["s"] or 0
        )
        reversible = credited - reversed_
        points = reversible if points is None else points
        if points <= 0 or points > reversible:
            raise NothingToReverse(f"{reversible} points of that source are left to reverse; {points} asked.")
        entry = _write_entry(
            member,
            kind=Kind.REVERSAL,
            points=-points,
            idempotency_key=idempotency_key,
            source_type=source_type,
            source_id=source_id,
            description=description,
            created_by=None,
            store_id=credits["store"],
            now=now,
        )
        source_lots = list(
            PointLot.objects.filter(
                member=member,
                remaining__gt=0,
                entry__source_type=source_type,
                entry__source_id=source_id,
            ).order_by(*LOT_ORDER)
        )
        source_lot_ids = {lot.pk for lot in source_lots}
        other_lots = [lot for lot in _open_lots(member, pending=None) if lot.pk not in source_lot_ids]
        taken = _take(member, entry, points, [*source_lots, *other_lots])
        member.points_available -= points - taken  # the shortfall becomes a debt
        _save_balances(member, entry)
        return Posting(entry, created=True)


def points_restore(
    *,
    member_id: int,
    source_type: str,
    source_id: str,
    idempotency_key: str,
    description: str = "",
    now: datetime | None = None,
) -> Posting:
    """Give back everything a source's debits took, to the lots they took it from. The
    restoration belongs to the store the debits did."""
    _check_key(idempotency_key)
    now = now or timezone.now()
    with transaction.atomic():
        member = lock_member(member_id)
        if replay := _replay(idempotency_key, member=member, kind=Kind.REVERSAL, sign=1):
            return replay
        rows = list(
            LotAllocation.objects.filter(
                entry__member=member,
                entry__source_type=source_type,
                entry__source_id=source_id,
            )
            .values("lot_id")
            .annotate(net=Sum("points"), store_id=Max("entry__store_id"))
            .filter(net__gt=0)
        )
        net_by_lot = {row["lot_id"]: row["net"] for row in rows}
        points = sum(net_by_lot.values())
        if points <= 0:
            raise NothingToReverse("Nothing of that source is left to give back.")
        debt = _debt(member)
        store_id = rows[0]["store_id"]  # a source's entries are all made for one store
        entry = _write_entry(
            member,
            kind=Kind.REVERSAL,
            points=points,
            idempotency_key=idempotency_key,
            source_type=source_type,
            source_id=source_id,
            description=description,
            created_by=None,
            store_id=store_id,
            now=now,
        )
        lots = list(PointLot.objects.filter(pk__in=net_by_lot).order_by(*LOT_ORDER))
        for lot in lots:
            lot.remaining += net_by_lot[lot.pk]
            if lot.is_pending:
                member.points_pending += net_by_lot[lot.pk]
            else:
                member.points_available += net_by_lot[lot.pk]
        PointLot.objects.bulk_update(lots, ["remaining"])
        LotAllocation.objects.bulk_create(
            LotAllocation(entry=entry, lot=lot, points=-net_by_lot[lot.pk]) for lot in lots
        )
        _settle_debt(member, entry, debt, lots=lots)
        _save_balances(member, entry)
        return Posting(entry, created=True)


def points_adjust(
    *,
    member_id: int,
    points: int,
    reason: str,
    staff_user: User,
    idempotency_key: str,
    now: datetime | None = None,
) -> Posting:
    """A staff correction: positive opens an available lot, negative spends like a debit."""
    from ..audit import audit_record

    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidPoints("An adjustment is a whole number of points other than zero.")
    if not reason or not reason.strip():
        raise InvalidRequest("An adjustment needs a reason.", fields={"reason": ["Required."]})
    if staff_user is None or not staff_user.is_staff:
        raise InvalidRequest("Only staff can adjust points.")
    common = {
        "member_id": member_id,
        "idempotency_key": idempotency_key,
        "source_type": Source.STAFF,
        "source_id": str(staff_user.pk),
        "kind": Kind.ADJUST,
        "description": reason.strip()[:255],
        "created_by": staff_user,
        "now": now,
    }
    with transaction.atomic():
        if points > 0:
            posting = points_credit(points=points, **common)
        else:
            posting = points_debit(points=-points, **common)
        if posting.created:
            audit_record(
                actor=staff_user,
                action="points_adjusted",
                member_id=member_id,
                details={"points": points, "reason": reason.strip(), "entry": posting.entry.pk},
            )
        return posting


@dataclass(frozen=True)
class TransferPosting:
    """What ``points_transfer`` wrote: the sender's debit and the receiver's credits (one per
    expiry date the points carried), and whether this call wrote them (False on a replay)."""

    debit: LedgerEntry
    credits: list[LedgerEntry]
    created: bool


def points_transfer(
    *,
    sender_id: int,
    recipient_id: int,
    points: int,
    idempotency_key: str,
    source_id: str,
    description_out: str = "",
    description_in: str = "",
    now: datetime | None = None,
) -> TransferPosting:
    """Move ``points`` of the sender's available balance to the recipient, keeping their expiry.

    Both members are locked in one statement, in id order. The sender's debit (kind
    ``transfer``) takes available lots soonest-expiring first, like a redemption, and never
    overdraws. The recipient gets one credit per expiry date those lots had, each opening an
    available lot that expires when the sender's did; the points pay a recipient's debt first,
    as any credit does. Keys: ``<key>:out`` for the debit, ``<key>:in:<n>`` for the credits.
    """
    _check_points(points)
    _check_key(idempotency_key)
    if len(idempotency_key) > 180:
        raise InvalidRequest(fields={"idempotency_key": ["At most 180 characters for a transfer."]})
    if sender_id == recipient_id:
        raise InvalidRequest("Points cannot be sent to oneself.", fields={"recipient": ["Another member."]})
    now = now or timezone.now()
    out_key = f"{idempotency_key}:out"
    with transaction.atomic():
        sender = lock_member(sender_id, also=recipient_id)
        recipient = lock_member(recipient_id)  # locked already by the statement above
        if replay := _replay(out_key, member=sender, kind=Kind.TRANSFER, points=-points):
            credits = list(
                LedgerEntry.objects.filter(idempotency_key__startswith=f"{idempotency_key}:in:").order_by(
                    "id"
                )
            )
            return TransferPosting(replay.entry, credits, created=False)
        if sender.status != Member.Status.ACTIVE or recipient.status != Member.Status.ACTIVE:
            raise MemberInactive()
        if sender.points_available < points:
            raise InsufficientPoints(
                f"The member has {max(sender.points_available, 0)} points available; {points} are needed."
            )
        debit = _write_entry(
            sender,
            kind=Kind.TRANSFER,
            points=-points,
            idempotency_key=out_key,
            source_type=Source.TRANSFER,
            source_id=source_id,
            description=description_out,
            created_by=None,
            now=now,
        )
        lots = _open_lots(sender, pending=False)
        taken_by_expiry: dict[datetime | None, int] = {}
        remaining = points
        for lot in lots:  # what _take will take, in its order, grouped by expiry date
            if remaining == 0:
                break
            take = min(lot.remaining, remaining)
            taken_by_expiry[lot.expires_at] = taken_by_expiry.get(lot.expires_at, 0) + take
            remaining -= take
        taken = _take(sender, debit, points, lots)
        if taken != points:
            raise RuntimeError(f"Member {sender.pk}: available lots hold less than the balance.")
        sender.last_activity_at = max(sender.last_activity_at or now, now)
        _save_balances(sender, debit)

        credits: list[LedgerEntry] = []
        for number, (expires_at, credit_points) in enumerate(taken_by_expiry.items()):
            debt = _debt(recipient)
            entry = _write_entry(
                recipient,
                kind=Kind.TRANSFER,
                points=credit_points,
                idempotency_key=f"{idempotency_key}:in:{number}",
                source_type=Source.TRANSFER,
                source_id=source_id,
                description=description_in,
                created_by=None,
                now=now,
            )
            lot = PointLot.objects.create(
                member=recipient,
                entry=entry,
                points=credit_points,
                remaining=credit_points,
                is_pending=False,
                available_at=now,
                expires_at=expires_at,
                created_at=now,
            )
            recipient.points_available += credit_points
            _settle_debt(recipient, entry, debt, lots=[lot])
            recipient.last_activity_at = max(recipient.last_activity_at or now, now)
            _save_balances(recipient, entry)
            credits.append(entry)
        return TransferPosting(debit, credits, created=True)


def points_forfeit(
    *,
    member_id: int,
    idempotency_key: str,
    description: str = "",
    now: datetime | None = None,
) -> Posting | None:
    """Take every point the member still holds, available and pending, as one ``expire``
    entry (a closed account's points lapse). None when there is nothing left to take."""
    _check_key(idempotency_key)
    now = now or timezone.now()
    with transaction.atomic():
        member = lock_member(member_id)
        if replay := _replay(idempotency_key, member=member, kind=Kind.EXPIRE, sign=-1):
            return replay
        lots = _open_lots(member, pending=None)
        points = sum(lot.remaining for lot in lots)
        if points <= 0:
            return None
        entry = _write_entry(
            member,
            kind=Kind.EXPIRE,
            points=-points,
            idempotency_key=idempotency_key,
            source_type=Source.SYSTEM,
            source_id="forfeit",
            description=description,
            created_by=None,
            now=now,
        )
        _take(member, entry, points, lots)
        _save_balances(member, entry)
        return Posting(entry, created=True)


# --- internals -------------------------------------------------------------------------------


def _check_points(points: object) -> None:
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidPoints(fields={"points": ["A whole number above zero."]})
    if points > MAX_POINTS:
        raise InvalidPoints(
            f"At most {MAX_POINTS:,} points at a time.", fields={"points": [f"At most {MAX_POINTS}."]}
        )


def _check_key(key: object) -> None:
    if not isinstance(key, str) or not key.strip() or len(key) > 200:
        raise InvalidRequest(
            "An idempotency key is required (at most 200 characters).",
            fields={"idempotency_key": ["Required, at most 200 characters."]},
        )


def _replay(
    key: str, *, member: Member, kind: str, points: int | None = None, sign: int = 0
) -> Posting | None:
    """The entry an earlier call wrote with this key, if that call was the same one (same
    member, kind and points, or the same sign where the points are not known up front); a
    different call under the same key is a conflict."""
    entry = LedgerEntry.objects.filter(idempotency_key=key).first()
    if entry is None:
        return None
    same_points = entry.points == points if points is not None else entry.points * sign > 0
    if entry.member_id != member.pk or entry.kind != kind or not same_points:
        raise IdempotencyConflict()
    return Posting(entry, created=False)


def _debt(member: Member) -> int:
    return max(0, -member.points_available)


def _check_range(balance_after: int) -> None:
    """A balance stays within ``MAX_BALANCE`` either side of zero: far inside the 64-bit columns,
    so no sum of the ledger overflows. Checked before anything is written."""
    if abs(balance_after) > MAX_BALANCE:
        raise InvalidPoints(f"A balance holds at most {MAX_BALANCE:,} points.")


def _write_entry(member: Member, *, kind: str, points: int, now: datetime, **fields) -> LedgerEntry:
    _check_range(member.points_total + points)
    try:
        return LedgerEntry.objects.create(
            member=member,
            kind=kind,
            points=points,
            balance_after=member.points_total + points,
            created_at=now,
            **fields,
        )
    except IntegrityError:
        # Another member's entry holds the key (the member lock serialises this member's own).
        # No savepoint: the transaction this runs in is rolled back by the raise.
        raise IdempotencyConflict() from None


def _open_lots(member: Member, *, pending: bool | None) -> list[PointLot]:
    """The member's lots with points left, in the order debits take them: available before
    pending, soonest-expiring first, never-expiring last."""
    lots = PointLot.objects.filter(member=member, remaining__gt=0)
    if pending is not None:
        lots = lots.filter(is_pending=pending)
    return list(lots.order_by(*LOT_ORDER))


def _take(member: Member, entry: LedgerEntry, points: int, lots: Iterable[PointLot]) -> int:
    """Take up to ``points`` from ``lots`` in order for ``entry``; returns how many it took and
    lowers the member's cached balances to match."""
    taken = 0
    changed: list[PointLot] = []
    allocations: list[LotAllocation] = []
    for lot in lots:
        if taken == points:
            break
        take = min(lot.remaining, points - taken)
        if take <= 0:
            continue
        lot.remaining -= take
        taken += take
        if lot.is_pending:
            member.points_pending -= take
        else:
            member.points_available -= take
        changed.append(lot)
        allocations.append(LotAllocation(entry=entry, lot=lot, points=take))
    PointLot.objects.bulk_update(changed, ["remaining"])
    LotAllocation.objects.bulk_create(allocations)
    return taken


def _settle_debt(member: Member, entry: LedgerEntry, debt: int, *, lots: list[PointLot]) -> None:
    """Points that just arrived first pay off a negative balance left by a reversal."""
    if debt <= 0:
        return
    paid = _take(member, entry, debt, lots)
    # _take lowered the balances as if the points were spent; they were spent on the debt.
    member.points_available += paid


def _check_balances(member: Member, balance_after: int) -> None:
    if member.points_total != balance_after or member.points_pending < 0:
        raise RuntimeError(f"Member {member.pk}: balances would disagree with the journal.")


def _save_balances(member: Member, entry: LedgerEntry) -> None:
    _check_balances(member, entry.balance_after)
    Member.objects.filter(pk=member.pk).update(
        points_available=member.points_available,
        points_pending=member.points_pending,
        last_activity_at=member.last_activity_at,
    )
