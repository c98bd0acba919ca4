"""Recording purchases: the points they earn, campaign awards, the immediate tier upgrade and
the referral reward on a member's first purchase.

Every credit of a purchase (the base rate with the tier multiplier, and each campaign's bonus)
is a ledger entry with source ``purchase`` and the purchase's id, so a refund reverses them all
with one ``points_reverse``.

A purchase is the hot path (every till, every sale), so on PostgreSQL it is two statements in
one transaction, with no savepoint: the member row locked (with the referrer a first purchase
may pay, in id order) together with the look-up of the external id (``record_once``), whether
the member bought before, the paid plan running at the purchase and the id the purchase will
take; then the purchase with its lines and awards, its ledger entries (made for the store),
lots and balances, its ``purchase.recorded`` outbox row, and the member's qualifying value for
the tier check. A campaign or offer under a budget adds its conditional UPDATE, the first
capped campaign that gives adds one read, an offer running at the purchase adds the read of
the member's offers (and the write of their uses when one applies), and a member's first
purchase one more look. The program, the tiers, the campaigns and when offers run come from the
copies each process keeps (``members.config``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Subquery, Sum
from django.utils import timezone

from members import config
from members.errors import InvalidRequest, MemberInactive, MemberNotFound
from members.ledger.services import (
    Credit,
    CreditStatement,
    points_credit,
    points_credit_locked,
    points_credit_statement,
    points_reverse,
)
from members.locks import lock_member, lock_member_rows
from members.models import LedgerEntry, Member, Program, Purchase, PurchaseLine, Store
from members.models_plans import membership_running_sql
from members.statements import hot_cursor
from members.stores import purchase_check_limits
from members.tiers import (
    money_from_db,
    qualification_window_start,
    qualifying_value_sql,
    tier_upgrade_if_qualified,
)
from members.webhooks import event_record, event_values, event_written, payloads

from ..budgets import budget_take
from ..engagement.services import engagement_progress
from ..engine import Applicator, PurchaseContext
from ..engine.applicator import EarningResult, SourceAward
from ..errors import DuplicateExternalId
from ..inputs import PurchaseInput
from ..models import ActionRule, Award, Campaign, Offer, Referral
from ..offers import offer_uses_record, offers_for_purchase, offers_grant
from ..policy import get_policy
from ..selectors import campaigns_for_purchase, offers_may_apply
from .replays import KeyTaken, insert_keyed, record_once

Kind = LedgerEntry.Kind
Source = LedgerEntry.Source
# A purchase may be stamped a little ahead of our clock (tills drift), not more.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class PurchaseOutcome:
    purchase: Purchase
    awards: list[Award]
    created: bool  # False on a replay of the same request


class _Granter:
    """How many points a campaign may still give this member: its per-member cap (what the
    member already had from every capped campaign is read once, when the first of them would
    give), then its total budget, taken with a conditional UPDATE so concurrent purchases never
    overspend."""

    def __init__(self, member: Member, campaigns: list[Campaign]):
        self.member = member
        self.capped = [campaign.pk for campaign in campaigns if campaign.per_member_cap is not None]
        self._used: dict[int, int] | None = None

    def used(self, campaign: Campaign) -> int:
        if self._used is None:
            rows = (
                Award.objects.filter(campaign_id__in=self.capped, member=self.member)
                .values("campaign_id")
                .annotate(total=Sum("points"))
            )
            self._used = {row["campaign_id"]: row["total"] for row in rows}
        return self._used.get(campaign.pk, 0)

    def __call__(self, campaign: Campaign, points: int) -> int:
        if campaign.per_member_cap is not None and points > 0:
            points = min(points, max(campaign.per_member_cap - self.used(campaign), 0))
        return budget_take(campaign, points)


def purchase_record(
    *, store: Store, purchase: PurchaseInput | None = None, now: datetime | None = None, **fields: Any
) -> PurchaseOutcome:
    """Record a store's sale and credit its points, pending through the return window.

    The same ``external_id`` from the same store again is a replay (the first outcome, nothing
    new); with a different payload it is ``DuplicateExternalId``. Callers inside the site may
    give the purchase's fields as keywords instead (``member_number``, ``external_id``,
    ``amount``, ``currency``, ``purchased_at``, ``lines``): they are parsed by the same grammar.
    """
    if purchase is None:
        purchase = _input_from_fields(**fields)
    elif fields:
        raise TypeError(f"purchase_record() takes a PurchaseInput or fields, not both: {sorted(fields)}")
    now = now or timezone.now()
    digest = purchase.digest
    return record_once(
        lock=lambda: _lock_member(store, purchase),
        replay=lambda locked: _replay(store, purchase.external_id, digest, locked),
        record=lambda locked: _record(store, purchase, digest, locked, now),
    )


def _input_from_fields(
    *,
    member_number: str,
    external_id: str,
    amount: Decimal | str,
    currency: str,
    purchased_at: datetime | str,
    lines: list[dict[str, Any]] | None = None,
) -> PurchaseInput:
    def text(value: Any) -> Any:
        return str(value) if isinstance(value, (Decimal, int)) and not isinstance(value, bool) else value

    data: dict[str, Any] = {
        "member": str(member_number),
        "external_id": external_id,
        "amount": text(amount),
        "currency": currency,
        "purchased_at": purchased_at,
    }
    if lines is not None:
        data["lines"] = [{key: text(value) for key, value in line.items()} for line in lines]
    return PurchaseInput.parse(data)


@dataclass(frozen=True)
class _Locked:
    member: Member
    # This store's purchase with the same external id, if any.
    earlier_id: int | None
    earlier_digest: str
    # Whether the member had a purchase: read with the lock, but as of the statement's start
    # (a purchase committed while the lock waited is not seen), so only a yes is certain.
    had_purchases: bool
    # The highest earn multiplier of the paid plans running at the purchase (None without one)
    # and the code of the running membership (``members.memberships.membership_annotations``).
    plan_multiplier: Decimal | None = None
    plan_code: str | None = None
    # Whether an offer could be the member's (an activation covering the purchase, an offer's
    # list, a segment with an offer that applies by itself; a coarse twin of
    # ``campaigns.offers._usable_at``): only then are their offers read.
    offer_candidate: bool = True
    # On PostgreSQL, the id the purchase will have (taken from its sequence with the lock), so
    # that its points can be written in the same statement as the purchase.
    next_purchase_id: int | None = None


def _lock_member(store: Store, purchase: PurchaseInput) -> _Locked:
    """The member row, locked, with the id and digest of the store's purchase under the same
    external id if there is one, whether the member had purchases and their paid plan at the
    purchase: one statement. A member who had no purchase yet may be referred: their referrer,
    whom a first purchase pays (``referral_settle``), is locked in the same statement, both in
    ascending id (``members.locks``)."""
    at = connection.ops.adapt_datetimefield_value(purchase.purchased_at)
    params = {"store": store.pk, "external_id": purchase.external_id, "number": purchase.member, "at": at}
    if connection.vendor != "postgresql":  # no row locks; the ORM converts the columns
        rows = Member.objects.raw(f"SELECT m.*, {_EARLIER}{_LOCK_FROM}", params)
        member = next((row for row in rows if row.member_number == purchase.member), None)
        if member is None:
            raise MemberNotFound()
        return _Locked(
            member,
            member.earlier_id,
            member.earlier_digest,
            bool(member.had_purchases),
            _multiplier(member.plan_multiplier),
            member.plan_code,
            bool(member.offer_candidate),
        )
    rows = lock_member_rows(
        f"SELECT {_MEMBER_COLUMNS}, {_EARLIER}, CASE WHEN m.member_number = %(number)s"
        f" THEN nextval(pg_get_serial_sequence('members_purchase', 'id')) END{_LOCK_FROM}",
        params,
    )
    width = len(_MEMBER_FIELDS)
    row = next((row for row in rows if row[_NUMBER_INDEX] == purchase.member), None)
    if row is None:
        raise MemberNotFound()
    (
        values,
        (earlier_id, earlier_digest, had_purchases, plan_multiplier, plan_code, offer_candidate, next_id),
    ) = (
        row[:width],
        row[width:],
    )
    member = Member.from_db("default", _MEMBER_FIELDS, values)
    return _Locked(
        member,
        earlier_id,
        earlier_digest,
        had_purchases,
        _multiplier(plan_multiplier),
        plan_code,
        offer_candidate,
        next_id,
    )


def _multiplier(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


_MEMBER_FIELDS = [field.attname for field in Member._meta.concrete_fields]
_MEMBER_COLUMNS = ", ".join(f"m.{field.column}" for field in Member._meta.concrete_fields)
_NUMBER_INDEX = _MEMBER_FIELDS.index("member_number")
# The running memberships at the purchase, as ``members.memberships.membership_annotations``.
_RUNNING_PLANS = (
    " FROM members_membership ms JOIN members_membershipplan pl ON pl.id = ms.plan_id"
    f" WHERE ms.member_id = m.id AND {membership_running_sql('ms', '%(at)s')}"
)
_EARLIER = (
    "(SELECT p.id FROM members_purchase p WHERE p.store_id = %(store)s AND p.external_id = %(external_id)s)"
    " AS earlier_id,"
    " (SELECT p.payload_digest FROM members_purchase p"
    " WHERE p.store_id = %(store)s AND p.external_id = %(external_id)s) AS earlier_digest,"
    " EXISTS (SELECT 1 FROM members_purchase WHERE member_id = m.id) AS had_purchases,"
    f" (SELECT pl.earn_multiplier{_RUNNING_PLANS} ORDER BY pl.earn_multiplier DESC LIMIT 1)"
    " AS plan_multiplier,"
    f" (SELECT pl.code{_RUNNING_PLANS} ORDER BY ms.ends_at DESC, ms.id DESC LIMIT 1) AS plan_code,"
    " (EXISTS (SELECT 1 FROM campaigns_offeractivation a WHERE a.member_id = m.id"
    "          AND a.activated_at <= %(at)s AND a.valid_until >= %(at)s)"
    "  OR EXISTS (SELECT 1 FROM campaigns_offertarget t WHERE t.member_id = m.id)"
    "  OR EXISTS (SELECT 1 FROM campaigns_segmentmember sm JOIN campaigns_offer o"
    "             ON o.segment_id = sm.segment_id"
    "             WHERE sm.member_id = m.id AND o.is_active AND NOT o.requires_activation))"
    " AS offer_candidate"
)
# The member by number and, when they have no purchase yet, their referrer.
_LOCK_FROM = (
    " FROM members_member m WHERE m.member_number = %(number)s OR m.id = ("
    "SELECT r.referred_by_id FROM members_member r WHERE r.member_number = %(number)s"
    " AND NOT EXISTS (SELECT 1 FROM members_purchase q WHERE q.member_id = r.id))"
)


def _replay(store: Store, external_id: str, digest: str, locked: _Locked | None) -> PurchaseOutcome | None:
    if locked is not None and locked.earlier_id is None:
        return None
    if locked is not None and locked.earlier_digest != digest:
        raise DuplicateExternalId()
    earlier = Purchase.objects.filter(store=store, external_id=external_id).select_related("member").first()
    if earlier is None:
        return None
    if earlier.payload_digest != digest:
        raise DuplicateExternalId()
    awards = list(Award.objects.filter(purchase_id=earlier.pk).order_by("position"))
    return PurchaseOutcome(earlier, awards, created=False)


def _is_first_purchase(locked: _Locked, rules: list[Campaign | Offer]) -> bool:
    """Whether this is the member's first purchase, when anything depends on it (a campaign or
    an offer, a referral): a purchase seen with the lock is certain; none seen is read again."""
    if locked.had_purchases or not (rules or locked.member.referred_by_id):
        return False
    return not Purchase.objects.filter(member_id=locked.member.pk).exists()


def _record(
    store: Store, purchase: PurchaseInput, digest: str, locked: _Locked, now: datetime
) -> PurchaseOutcome:
    member, program = locked.member, config.program()
    _check_rules(purchase, member, program, store, now)
    tiers = config.tiers()
    tier = tiers.get(member.tier_id)
    campaigns = campaigns_for_purchase(at=purchase.purchased_at, store=store, tier=tier)
    offers: list[Offer] = []
    if locked.offer_candidate and offers_may_apply(at=purchase.purchased_at):
        offers = offers_for_purchase(member_id=member.pk, at=purchase.purchased_at)
    is_first = _is_first_purchase(locked, [*campaigns, *offers])
    context = PurchaseContext(
        amount=purchase.amount,
        lines=purchase.line_inputs,
        base_rate=program.base_earn_rate,
        tier_multiplier=tier.multiplier if tier else Decimal("1"),
        tier_code=tier.code if tier else "",
        plan_multiplier=locked.plan_multiplier or Decimal("1"),
        plan_code=locked.plan_code or "",
        is_first_purchase=is_first,
        policy=get_policy(),
    )
    grant = offers_grant(_Granter(member, campaigns))
    result = Applicator(grant=grant).apply(context, [*campaigns, *offers])
    recorded = Purchase(
        pk=locked.next_purchase_id,
        member=member,
        store=store,
        external_id=purchase.external_id,
        amount=purchase.amount,
        currency=purchase.currency,
        purchased_at=purchase.purchased_at,
        available_at=purchase.purchased_at + timedelta(days=program.return_window_days),
        points_awarded=result.points,
        payload_digest=digest,
        created_at=now,
    )
    # The qualifying value before this purchase comes back with it, unless no tier is higher.
    window = qualifying_value_sql(program, as_of=now, member="%(member)s") if tiers.above(tier) else None
    awards, value_before = _write(recorded, result, store, window, now)
    if offers:
        offer_uses_record(member_id=member.pk, purchase=recorded, awards=result.awards, now=now)

    # After the points: this purchase earned at the tier the member had when they bought.
    if value_before is not None:
        value = value_before + _qualifying_gain(purchase, result.points, program, now)
        tier_upgrade_if_qualified(member, now=now, value=value)
    if is_first and member.referred_by_id:
        referral_settle(member=member, purchase=recorded, program=program, now=now)
    engagement_progress(member=member, trigger=f"purchase:{recorded.pk}", purchase=recorded, now=now)
    return PurchaseOutcome(recorded, awards, created=True)


def _check_rules(
    purchase: PurchaseInput, member: Member, program: Program, store: Store, now: datetime
) -> None:
    """What the request's grammar cannot say: the member may earn, the lines add up, the
    currency is the program's, the date is neither ahead of the clock nor ten years old, and the
    store's limits hold (its largest amount; a partner's oldest date)."""
    if member.status != Member.Status.ACTIVE:
        raise MemberInactive()
    purchase.check_lines_add_up()
    if purchase.currency != program.currency:
        raise InvalidRequest(fields={"currency": [f"The program's currency is {program.currency}."]})
    if purchase.purchased_at > now + CLOCK_SKEW:
        raise InvalidRequest(fields={"purchased_at": ["A purchase cannot be in the future."]})
    if purchase.purchased_at < now - timedelta(days=3650):
        raise InvalidRequest(fields={"purchased_at": ["Too far in the past."]})
    purchase_check_limits(store=store, amount=purchase.amount, purchased_at=purchase.purchased_at, now=now)


def _write(
    purchase: Purchase, result: EarningResult, store: Store, window: tuple[str, dict] | None, now: datetime
) -> tuple[list[Award], Decimal | None]:
    """Write the purchase, its lines, its awards and its points; answer the awards and the
    qualifying value before it. With the purchase's id known (PostgreSQL), its points go in the
    same statement; otherwise (or when they must first pay off a debt) in the next."""
    lines = [
        PurchaseLine(
            sku=line.input.sku,
            category=line.input.category,
            quantity=line.input.quantity,
            amount=line.input.amount,
            points_awarded=line.points,
        )
        for line in result.lines
    ]
    awards = [
        Award(
            member=purchase.member,
            campaign=award.campaign,
            source=award.source,
            points=award.points,
            position=position,
            created_at=now,
        )
        for position, award in enumerate(result.awards)
    ]
    credit = {
        "member": purchase.member,
        "source_type": Source.PURCHASE,
        "earned_at": purchase.purchased_at,
        "available_at": purchase.available_at,
        "store": store,
        "now": now,
    }
    statement = None
    if purchase.pk is not None and (credits := _credits(purchase, result.awards, store)):
        statement = points_credit_statement(credits=credits, source_id=str(purchase.pk), **credit)
    event = {
        "type": "purchase.recorded",
        "member_id": purchase.member_id,
        "store_id": store.pk,
        "now": now,
    }
    value_before = _insert_purchase(purchase, lines, awards, window, statement, event, store)
    if statement is None and (credits := _credits(purchase, result.awards, store)):
        points_credit_locked(credits=credits, source_id=str(purchase.pk), **credit)
    return awards, value_before


def _credits(purchase: Purchase, awards: list[SourceAward], store: Store) -> list[Credit]:
    """The purchase's ledger credits: the base rate with the tier and plan multipliers, and one
    entry for every campaign's and offer's points (the awards keep the breakdown), so the number
    of statements does not grow with the number of campaigns."""
    credits = []
    earned = sum(award.points for award in awards if not award.is_bonus)
    if earned > 0:
        description = f"Purchase {purchase.external_id} at {store.name}"[:255]
        credits.append(Credit(earned, f"purchase:{purchase.pk}", Kind.EARN, description))
    bonuses = [award for award in awards if award.is_bonus]
    if bonuses:  # campaigns' and offers' points
        names = ", ".join(award.rule.name for award in bonuses)
        description = f"{names} (purchase {purchase.external_id})"[:255]
        points = sum(award.points for award in bonuses)
        credits.append(Credit(points, f"purchase:{purchase.pk}:campaigns", Kind.BONUS, description))
    return credits


def _qualifying_gain(purchase: PurchaseInput, points: int, program: Program, now: datetime) -> Decimal:
    """What this purchase adds to the member's qualifying value as of ``now``."""
    if program.tier_metric == Program.TierMetric.POINTS:
        return Decimal(points)  # its entries are dated now, inside the window
    in_window = qualification_window_start(program, now) < purchase.purchased_at <= now
    return purchase.amount if in_window else Decimal("0")


def _insert_purchase(
    purchase: Purchase,
    lines: list[PurchaseLine],
    awards: list[Award],
    window: tuple[str, dict] | None,
    credit: CreditStatement | None,
    event: dict,
    store: Store,
) -> Decimal | None:
    """Insert the purchase (``KeyTaken`` when the store's external id is taken), its lines, its
    awards, its ``purchase.recorded`` outbox row (``event``: the event's fields but its data)
    and, when given, its ledger credit, and answer the member's qualifying value before it
    (``window`` is its SQL, or None when it is not wanted). On PostgreSQL, one statement."""
    data = payloads.purchase_recorded(purchase, store)
    if connection.vendor != "postgresql":
        value = None
        if window is not None:  # read first: the single statement's read predates the insert
            sql, params = window
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {sql}", {"member": purchase.member_id, **params})
                value = money_from_db(cursor.fetchone()[0])
        insert_keyed(purchase)
        for row in (*lines, *awards):
            row.purchase = purchase
        PurchaseLine.objects.bulk_create(lines)
        Award.objects.bulk_create(awards)
        event_record(data=data, **event)
        return value
    lines_json = [
        {
            "sku": line.sku,
            "category": line.category,
            "quantity": str(line.quantity),
            "amount": str(line.amount),
            "points": line.points_awarded,
        }
        for line in lines
    ]
    awards_json = [
        {"campaign": award.campaign_id, "source": award.source, "points": award.points, "position": position}
        for position, award in enumerate(awards)
    ]
    value_sql, value_params = window or ("NULL", {})
    ctes = f"{_PURCHASE_CTES}, {credit.ctes}" if credit else _PURCHASE_CTES
    outbox = event_values(data=data, **event)
    if outbox is not None:
        event_cte, event_params = outbox
        ctes = f"{ctes}, {event_cte.replace('{source}', 'purchase')}"
    params = {
        "id": purchase.pk,
        "member": purchase.member_id,
        "store": purchase.store_id,
        "external_id": purchase.external_id,
        "amount": purchase.amount,
        "currency": purchase.currency,
        "purchased_at": purchase.purchased_at,
        "available_at": purchase.available_at,
        "points": purchase.points_awarded,
        "digest": purchase.payload_digest,
        "now": purchase.created_at,
        "lines": json.dumps(lines_json),
        "awards": json.dumps(awards_json),
        **value_params,
        **(credit.params if credit else {}),
        **(event_params if outbox is not None else {}),
    }
    with hot_cursor() as cursor:
        # The ledger keys are the new purchase's id: none can be in use.
        cursor.execute(f"WITH {ctes} SELECT (SELECT id FROM purchase), {value_sql}", params)
        inserted, value = cursor.fetchone()
    if inserted is None:
        raise KeyTaken()
    if outbox is not None:
        event_written()
    for award in awards:
        award.purchase = purchase
    return money_from_db(value) if window else None


# The purchase with the id its lock took, its lines and its awards.
_PURCHASE_CTES = """
purchase AS (
    INSERT INTO members_purchase (id, member_id, store_id, external_id, amount, currency, purchased_at,
                                  available_at, points_awarded, refunded_amount, points_reversed,
                                  payload_digest, created_at)
    VALUES (%(id)s, %(member)s, %(store)s, %(external_id)s, %(amount)s, %(currency)s, %(purchased_at)s,
            %(available_at)s, %(points)s, 0, 0, %(digest)s, %(now)s)
    ON CONFLICT (store_id, external_id) DO NOTHING
    RETURNING id
), line AS (
    INSERT INTO members_purchaseline (purchase_id, sku, category, quantity, amount, points_awarded)
    SELECT purchase.id, line.sku, line.category, line.quantity, line.amount, line.points
    FROM purchase, jsonb_to_recordset(%(lines)s::jsonb)
                   AS line (sku varchar, category varchar, quantity numeric, amount numeric, points bigint)
), award AS (
    INSERT INTO campaigns_award (member_id, purchase_id, campaign_id, source, points, position, created_at)
    SELECT %(member)s, purchase.id, award.campaign, award.source, award.points, award.position, %(now)s
    FROM purchase, jsonb_to_recordset(%(awards)s::jsonb)
                   AS award (campaign bigint, source varchar, points bigint, position smallint)
)
"""


def referral_paid_by(purchase_ref) -> Subquery:
    """The referrer of the rewarded referral that purchase ``purchase_ref`` paid (an
    ``OuterRef``), for folding into the query that reads the purchase."""
    return Subquery(
        Referral.objects.filter(purchase=purchase_ref, status=Referral.Status.REWARDED).values("referrer_id")[
            :1
        ]
    )


def referral_reverse(*, purchase: Purchase, now: datetime) -> Referral | None:
    """A full refund of the purchase that paid a referral takes both credits back, once. The
    caller holds both members locked (``lock_member(..., also=referrer)``); the referral turns
    ``reversed`` in a conditional update, so a second full refund finds nothing to do."""
    referral = Referral.objects.filter(purchase=purchase, status=Referral.Status.REWARDED).first()
    if referral is None:
        return None
    reversed_now = Referral.objects.filter(pk=referral.pk, status=Referral.Status.REWARDED).update(
        status=Referral.Status.REVERSED, reason="purchase_refunded"
    )
    if not reversed_now:
        return None
    sides = (
        ("referrer", referral.referrer_id, referral.referrer_points),
        ("referred", referral.referred_id, referral.referred_points),
    )
    for side, member_id, points in sides:
        if points:
            points_reverse(
                member_id=member_id,
                source_type=Source.REFERRAL,
                source_id=str(referral.pk),
                idempotency_key=f"referral:{referral.pk}:{side}:refunded",
                description="Referral bonus reversed: the purchase was refunded",
                now=now,
            )
    return referral


def referral_settle(
    *, member: Member, purchase: Purchase, program: Program, now: datetime
) -> Referral | None:
    """On the referred member's first purchase: both sides earn, or the referral is refused
    (self-referral, the referrer's monthly cap) and recorded with why. Runs inside the
    purchase's transaction. Both members are locked in id order, as every writer locks them
    (``purchase_record`` has already locked both, in one statement)."""
    if Referral.objects.filter(referred=member).exists():
        return None
    referrer = lock_member(member.referred_by_id, also=member.pk)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    rewarded_this_month = Referral.objects.filter(
        referrer=referrer, status=Referral.Status.REWARDED, created_at__gte=month_start
    ).count()
    reason = get_policy().referral_refusal(
        referrer=referrer, referred=member, rewarded_this_month=rewarded_this_month, program=program, now=now
    )
    rules = {
        rule.kind: rule
        for rule in ActionRule.objects.filter(
            is_active=True,
            kind__in=[ActionRule.Kind.REFERRAL_REFERRER, ActionRule.Kind.REFERRAL_REFERRED],
        )
    }
    referrer_rule = rules.get(ActionRule.Kind.REFERRAL_REFERRER)
    referred_rule = rules.get(ActionRule.Kind.REFERRAL_REFERRED)
    if not reason and not (referrer_rule or referred_rule):
        reason = "no_active_rule"
    referral = Referral.objects.create(
        referrer=referrer,
        referred=member,
        purchase=purchase,
        status=Referral.Status.REFUSED if reason else Referral.Status.REWARDED,
        reason=reason,
        referrer_points=0 if reason or not referrer_rule else referrer_rule.points,
        referred_points=0 if reason or not referred_rule else referred_rule.points,
        created_at=now,
    )
    if reason:
        return referral
    for side, who, rule in (("referrer", referrer, referrer_rule), ("referred", member, referred_rule)):
        if rule and rule.points:
            points_credit(
                member_id=who.pk,
                points=rule.points,
                kind=Kind.BONUS,
                idempotency_key=f"referral:{referral.pk}:{side}",
                source_type=Source.REFERRAL,
                source_id=str(referral.pk),
                description=rule.name,
                available_at=purchase.available_at,
                now=now,
            )
    return referral
