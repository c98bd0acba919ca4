"""Writes of the rewards app: redeeming, cancelling, using and fulfilling, expiring vouchers.

Every function is one transaction. Locks are always taken member row first, then the
redemption or reward row, so no two of these deadlock. The points move only through the
ledger services: a redemption's debit has ``source_type="redemption"`` and
``source_id=<redemption pk>``; giving them back (cancel, or expiry under the refund policy) is
one ``points_restore`` with the key ``redemption:<pk>:restore``, so it can happen at most once
whichever path gets there first.

A partner's key redeems only with the code from the member's card (``member_token``): it is
used under the member's lock, right after a replay of the same idempotency key is recognised,
so of two tills with one code only one redeems, and a refused redemption leaves it unused.

Checks when redeeming, in this order (the first that fails is the error): the reward exists and
is active (``RewardNotFound``: an inactive reward is answered like an unknown one), the member
exists and is active (``MemberNotFound``, ``MemberInactive``), the reward's window is open and
its event has not started (``RewardUnavailable``), the member's tier is high enough
(``TierRequired``), a member-only reward's plan is running for them (``PlanRequired``), the
member's per-reward limit (``LimitReached``: issued and used vouchers count, cancelled and
expired ones do not), the available balance (``InsufficientPoints``; a negative balance never
redeems; the price is the lowest a ``rewards.pricing`` source offers the member, a personalised
offer say), the stock (``RewardOutOfStock``, a conditional ``UPDATE``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from members import config
from members.audit import audit_record
from members.cards import card_token_use
from members.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    InvalidRequest,
    MemberInactive,
    MemberNotFound,
)
from members.jobs import Counts, job_run
from members.jobs.base import db_datetime
from members.ledger.services import points_debit_locked, points_restore
from members.locks import lock_member, lock_members_in, lock_row
from members.models import LedgerEntry, Member, Program, Store, User
from members.webhooks import event_record, payloads

from .errors import (
    LimitReached,
    NotCancellable,
    PlanRequired,
    RedemptionNotFound,
    RewardNotFound,
    RewardOutOfStock,
    RewardUnavailable,
    TierRequired,
    VoucherCancelled,
    VoucherExpired,
    VoucherNotFound,
    VoucherUsed,
)
from .models import Redemption, Reward, normalise_voucher_code
from .pricing import member_price_cuts, plans_running
from .selectors import reward_to_redeem

logger = logging.getLogger(__name__)
Status = Redemption.Status
# Why a redemption that is no longer issued cannot be cancelled.
NOT_CANCELLABLE = {
    Status.USED: _("The redemption is used."),
    Status.EXPIRED: _("The redemption is expired."),
}


@dataclass(frozen=True)
class Redeemed:
    """What ``reward_redeem`` did: the redemption, and whether this call created it (False when
    the same idempotency key was replayed)."""

    redemption: Redemption
    created: bool


@dataclass(frozen=True)
class VoucherExpiry(Counts):
    vouchers: int = 0
    points_returned: int = 0
    points_forfeited: int = 0


def restore_key(redemption_id: int) -> str:
    return f"redemption:{redemption_id}:restore"


def reward_redeem(
    *,
    member_id: int | None = None,
    member_number: str | None = None,
    reward_code: str,
    store: Store | None = None,
    created_by: User | None = None,
    idempotency_key: str | None = None,
    member_token: str | None = None,
    notify: bool = True,
    now: datetime | None = None,
) -> Redeemed:
    """Spend the member's points on one of ``reward_code`` and issue its voucher.

    The member is given by id, or by number (a till's request: found and locked at once).
    ``idempotency_key`` is already scoped by the caller (``api:<store>:<key>``): the same key
    again gives back the same redemption; with another member or reward it is a conflict.
    ``member_token``: the code from the member's card, which a partner ``store`` must bring
    (the program's own stores need none). The confirmation mail is queued after commit unless
    ``notify`` is False."""
    if idempotency_key is not None and (not idempotency_key.strip() or len(idempotency_key) > 240):
        raise InvalidRequest(
            "The idempotency key must be 1 to 240 characters.",
            fields={"idempotency_key": ["1 to 240 characters."]},
        )
    now = now or timezone.now()
    try:
        with transaction.atomic():
            redeemed = _redeem(
                member=lock_member(member_id)
                if member_id is not None
                else _lock_member_number(member_number),
                reward_code=reward_code,
                store=store,
                created_by=created_by,
                idempotency_key=idempotency_key,
                member_token=member_token,
                now=now,
            )
    except IntegrityError:
        # Two first calls with one key for different members: the loser replays the winner.
        existing = idempotency_key and Redemption.objects.filter(idempotency_key=idempotency_key).first()
        if not existing:
            raise
        if member_id is None:
            member_id = (
                Member.objects.filter(member_number=member_number).values_list("pk", flat=True).first()
            )
        return _replay(existing, member_id=member_id, reward_code=reward_code)
    if notify and redeemed.created:
        from .tasks import redemption_confirmation_send_task

        # robust: the points are spent and the voucher issued whatever happens to the broker.
        redemption_id = redeemed.redemption.pk

        def send_confirmation() -> None:
            redemption_confirmation_send_task.delay(redemption_id)

        transaction.on_commit(send_confirmation, robust=True)
    return redeemed


def _lock_member_number(member_number: str | None) -> Member:
    """The member with that number, locked (one row: lock order does not arise)."""
    member = lock_row(Member.objects.filter(member_number=member_number))
    if member is None:
        raise MemberNotFound()
    return member


def _redeem(
    *,
    member: Member,
    reward_code: str,
    store: Store | None,
    created_by: User | None,
    idempotency_key: str | None,
    member_token: str | None,
    now: datetime,
) -> Redeemed:
    if idempotency_key and (
        existing := Redemption.objects.select_related("reward")
        .filter(idempotency_key=idempotency_key)
        .order_by()[:1]
    ):
        return _replay(existing[0], member_id=member.pk, reward_code=reward_code)
    if store is not None and store.is_partner:
        card_token_use(member=member, code=member_token, store=store, now=now)
    reward = reward_to_redeem(reward_code)
    if reward is None:
        raise RewardNotFound()
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive()
    if not reward.is_in_window(now) or (reward.event_starts_at and reward.event_starts_at <= now):
        raise RewardUnavailable()
    if reward.min_tier is not None:
        tier = config.tiers().get(member.tier_id)
        member_rank = tier.rank if tier else -1
        if member_rank < reward.min_tier.rank:
            raise TierRequired(
                format_lazy(_("This reward needs the {tier} tier or higher."), tier=reward.min_tier.name)
            )
    if reward.members_of_plan_id is not None and reward.members_of_plan_id not in plans_running(member, now):
        raise PlanRequired(
            format_lazy(_("This reward is for members of {plan}."), plan=reward.members_of_plan.name)
        )
    if reward.per_member_limit is not None:
        held = Redemption.objects.filter(member=member, reward=reward, status__in=Redemption.HELD).count()
        if held >= reward.per_member_limit:
            raise LimitReached(
                format_lazy(_("A member may hold {count} of this reward."), count=reward.per_member_limit)
            )
    cut = member_price_cuts(member, [reward], now).get(reward.pk)
    price = cut.points if cut else reward.points_cost
    _check_balance(member, price)
    # Never oversold: the decrement is the check, and it holds the reward row until commit.
    if reward.stock is not None and not Reward.objects.filter(pk=reward.pk, stock__gt=0).update(
        stock=F("stock") - 1
    ):
        raise RewardOutOfStock()
    program = config.program()
    expires_at = now + timedelta(days=program.voucher_validity_days)
    if reward.event_starts_at:
        expires_at = min(expires_at, reward.event_starts_at + timedelta(days=1))
    redemption = Redemption.objects.create(
        member=member,
        reward=reward,
        points_spent=price,
        price_source=cut.source if cut else "",
        cash_value=reward.cash_value,
        expires_at=expires_at,
        store=store,
        created_by=created_by,
        idempotency_key=idempotency_key or None,
        created_at=now,
    )
    if cut is not None and not cut.origin.use(member=member, reward=reward, cut=cut, redemption=redemption):
        # The lower price ran out meanwhile (its budget, at another member's redemption).
        price = reward.points_cost
        _check_balance(member, price)
        redemption.points_spent, redemption.price_source = price, ""
        redemption.save(update_fields=["points_spent", "price_source"])
    points_debit_locked(
        member=member,
        points=price,
        idempotency_key=f"redemption:{redemption.pk}",
        source_type=LedgerEntry.Source.REDEMPTION,
        source_id=str(redemption.pk),
        description=f"Redeemed: {reward.name}"[:255],
        created_by=created_by,
        store=store,
        now=now,
    )
    if created_by is not None:
        audit_record(
            actor=created_by,
            action="reward_redeemed",
            member_id=member.pk,
            details={"redemption": redemption.pk, "reward": reward.code, "points": price},
        )
    event_record(
        type="redemption.created",
        member_id=member.pk,
        store_id=redemption.store_id,
        data=payloads.redemption(redemption, store),
    )
    return Redeemed(redemption, created=True)


def _check_balance(member: Member, price: int) -> None:
    if member.points_available < price:
        raise InsufficientPoints(
            format_lazy(
                _("The member has {available} points available; {needed} are needed."),
                available=max(member.points_available, 0),
                needed=price,
            )
        )


def _replay(existing: Redemption, *, member_id: int, reward_code: str) -> Redeemed:
    if existing.member_id != member_id or existing.reward.code != reward_code:
        raise IdempotencyConflict()
    return Redeemed(existing, created=False)


def redemption_cancel(
    *,
    redemption_id: int,
    store: Store | None = None,
    actor: User | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Redemption:
    """Cancel an issued redemption: its points go back to the lots they came from (with their
    original expiry) and its stock comes back. Cancelling a cancelled redemption again changes
    nothing. A used or expired one is ``NotCancellable``.

    With ``store`` (an API caller), only that store's own redemptions are found; another
    store's, and those made in the portal (cancelled in the portal or admin), are
    ``RedemptionNotFound``."""
    now = now or timezone.now()
    with transaction.atomic():
        member_id = None
        if _valid_pk(redemption_id):
            member_id = (
                Redemption.objects.filter(pk=redemption_id).values_list("member_id", flat=True).first()
            )
        if member_id is None:
            raise RedemptionNotFound()
        lock_member(member_id)
        redemption = lock_row(Redemption.objects.select_related("reward", "member").filter(pk=redemption_id))
        if redemption is None:
            raise RedemptionNotFound()
        if store is not None and redemption.store_id != store.pk:
            raise RedemptionNotFound()
        if redemption.status == Status.CANCELLED:
            return redemption
        if redemption.status != Status.ISSUED:
            raise NotCancellable(NOT_CANCELLABLE.get(redemption.status))
        if redemption.expires_at <= now:
            raise NotCancellable(_("The voucher has expired."))
        if redemption.points_spent:  # a plan's monthly voucher spent none
            redemption.points_returned = points_restore(
                member_id=member_id,
                source_type=LedgerEntry.Source.REDEMPTION,
                source_id=str(redemption.pk),
                idempotency_key=restore_key(redemption.pk),
                description=f"Cancelled: {redemption.reward.name}"[:255],
                now=now,
            ).entry.points
        redemption.status = Status.CANCELLED
        redemption.cancelled_at = now
        redemption.save(update_fields=["status", "cancelled_at", "points_returned"])
        Reward.objects.filter(pk=redemption.reward_id, stock__isnull=False).update(stock=F("stock") + 1)
        if actor is not None:
            audit_record(
                actor=actor,
                action="redemption_cancelled",
                member_id=member_id,
                details={
                    "redemption": redemption.pk,
                    "reward": redemption.reward.code,
                    "points_returned": redemption.points_returned,
                    "reason": reason,
                },
            )
        event_record(
            type="redemption.cancelled",
            member_id=member_id,
            store_id=redemption.store_id,
            data=payloads.redemption(redemption, store, points_returned=redemption.points_returned),
        )
        return redemption


def voucher_use(
    *, code: str, store: Store | None = None, used_by: User | None = None, now: datetime | None = None
) -> Redemption:
    """Mark a voucher used at the till, exactly once. Any store of the program may take it.
    ``code`` may be typed in any case, with or without dashes and spaces."""
    code = normalise_voucher_code(code)
    if not code or len(code) > 20:
        raise VoucherNotFound()
    return _mark_used(Redemption.objects.filter(voucher_code=code), store=store, used_by=used_by, now=now)


def redemption_fulfil(*, redemption_id: int, staff_user: User, now: datetime | None = None) -> Redemption:
    """Staff hand over the reward (ship the product, admit to the event): the voucher is used."""
    if not _valid_pk(redemption_id):
        raise RedemptionNotFound()
    selection = Redemption.objects.filter(pk=redemption_id)
    return _mark_used(selection, store=None, used_by=staff_user, now=now, not_found=RedemptionNotFound)


def _valid_pk(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _mark_used(
    selection,
    *,
    store: Store | None,
    used_by: User | None,
    now: datetime | None,
    not_found: type[Exception] = VoucherNotFound,
) -> Redemption:
    now = now or timezone.now()
    with transaction.atomic():
        # The conditional UPDATE is the check: of two tills at once, one changes the row.
        used = selection.filter(status=Status.ISSUED, expires_at__gt=now).update(
            status=Status.USED, used_at=now, used_store=store, used_by=used_by
        )
        redemption = selection.select_related("reward").first()
        if redemption is None:
            raise not_found()
        if not used:
            if redemption.status == Status.USED:
                raise VoucherUsed()
            if redemption.status == Status.CANCELLED:
                raise VoucherCancelled()
            raise VoucherExpired()
        if used_by is not None:
            audit_record(
                actor=used_by,
                action="redemption_fulfilled",
                member_id=redemption.member_id,
                details={"redemption": redemption.pk, "reward": redemption.reward.code},
            )
        event_record(
            type="voucher.used",
            member_id=redemption.member_id,
            store_id=store.pk if store else None,
            data=payloads.redemption(redemption, store, used_at=now),
        )
        return redemption


def vouchers_expire(*, as_of: datetime | None = None) -> VoucherExpiry:
    """The daily job: every issued voucher whose expiry has passed by ``as_of`` expires, and
    the program's policy decides whether its points come back. Run as the ``expire_vouchers``
    job: chunked by member id range, a ``JobRun`` per run; each chunk is one transaction and
    only touches vouchers still issued, so a rerun (or a run after a crash) changes nothing
    that was done."""
    run, result = job_run(name="expire_vouchers", as_of=as_of)
    logger.info("vouchers_expire as of %s: %s", run.as_of.isoformat(), result.as_text())
    return result


def vouchers_expire_chunk(
    *, as_of: datetime, first_id: int, last_id: int, notify: bool = True, **_
) -> VoucherExpiry:
    """Expire the vouchers of one member-id range that are past their expiry by ``as_of``."""
    refund = Program.load().expired_voucher_policy == Program.ExpiredVoucherPolicy.REFUND
    due = "status = %s AND expires_at <= %s AND member_id BETWEEN %s AND %s"
    due_params = [Status.ISSUED, db_datetime(as_of), first_id, last_id]
    with transaction.atomic():
        # The members first (the order every service locks in), then one conditional UPDATE
        # that says which vouchers this run expired.
        lock_members_in(f"SELECT member_id FROM rewards_redemption WHERE {due}", due_params)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE rewards_redemption SET status = %s, expired_at = %s WHERE {due} "
                "RETURNING id, member_id, reward_id, points_spent",
                [Status.EXPIRED, db_datetime(as_of), *due_params],
            )
            expired = sorted(cursor.fetchall())
        if not expired:
            return VoucherExpiry(0, 0, 0)
        points = sum(row[3] for row in expired)
        if refund:
            for redemption_id, member_id, _reward_id, points_spent in expired:
                if points_spent:
                    points_restore(
                        member_id=member_id,
                        source_type=LedgerEntry.Source.REDEMPTION,
                        source_id=str(redemption_id),
                        idempotency_key=restore_key(redemption_id),
                        description="Voucher expired unused: points returned",
                        now=as_of,
                    )
            Redemption.objects.filter(pk__in=[row[0] for row in expired]).update(
                points_returned=F("points_spent")
            )
        # An unused voucher never took its item: the stock comes back.
        per_reward: dict[int, int] = {}
        for _id, _member, reward_id, _points in expired:
            per_reward[reward_id] = per_reward.get(reward_id, 0) + 1
        for reward_id, count in sorted(per_reward.items()):
            Reward.objects.filter(pk=reward_id, stock__isnull=False).update(stock=F("stock") + count)
        return VoucherExpiry(len(expired), points if refund else 0, 0 if refund else points)
