"""The program figures of the staff portal. Each function is one aggregate query (or a fixed
few), whatever the number of members: the database sums, Python only divides and formats.

Definitions (the page repeats them):

- active member: not closed, with ledger activity in the last 90 days; participation rate:
  active members over members (closed ones left out of both).
- issued: earned and bonus points plus positive adjustments; redeemed: points spent on rewards
  less points given back (cancelled or expired vouchers); expired: what the expiry job took;
  reversed: points clawed back by refunds plus negative adjustments. Issued - redeemed -
  expired - reversed is the change of all balances.
- redemption rate: redeemed over issued; breakage rate: expired over issued (all time).
- liability: points left in open lots times ``Program.point_value``, pending and available
  apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Count,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Least, TruncMonth
from django.utils import timezone

from members.errors import InvalidRequest
from members.models import JobRun, LedgerEntry, Member, PointLot, Program, Purchase, Store, Tier, TierChange

ACTIVE_DAYS = 90
MONTHS = 12
CENT = Decimal("0.01")

Kind = LedgerEntry.Kind


def money(points: int, point_value: Decimal) -> Decimal:
    return (Decimal(points) * point_value).quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """``part / whole`` as a percentage with one decimal, or None when there is no whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


# --- members ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    members: int
    active: int
    new_last_30_days: int

    @property
    def participation_rate(self) -> Decimal | None:
        return ratio(self.active, self.members)


def membership(*, as_of: datetime) -> Membership:
    counts = Member.objects.exclude(status=Member.Status.CLOSED).aggregate(
        members=Count("id"),
        active=Count("id", filter=Q(last_activity_at__gt=as_of - timedelta(days=ACTIVE_DAYS))),
        new=Count("id", filter=Q(enrolled_at__gt=as_of - timedelta(days=30), enrolled_at__lte=as_of)),
    )
    return Membership(counts["members"], counts["active"], counts["new"])


# --- points ----------------------------------------------------------------------------------

_ISSUED = Q(kind__in=[Kind.EARN, Kind.BONUS]) | Q(kind=Kind.ADJUST, points__gt=0)
_REDEEMED = Q(kind=Kind.REDEEM) | Q(kind=Kind.REVERSAL, points__gt=0)
_EXPIRED = Q(kind=Kind.EXPIRE)
_REVERSED = Q(kind=Kind.REVERSAL, points__lt=0) | Q(kind=Kind.ADJUST, points__lt=0)


def _points_sums() -> dict:
    def total(condition: Q, sign: int) -> Coalesce:
        return Coalesce(Sum(F("points") * sign, filter=condition), 0)

    return {
        "issued": total(_ISSUED, 1),
        "redeemed": total(_REDEEMED, -1),
        "expired": total(_EXPIRED, -1),
        "reversed": total(_REVERSED, -1),
    }


@dataclass(frozen=True)
class PointsFlow:
    issued: int
    redeemed: int
    expired: int
    reversed: int
    month: datetime | None = None

    @property
    def net(self) -> int:
        return self.issued - self.redeemed - self.expired - self.reversed

    @property
    def redemption_rate(self) -> Decimal | None:
        return ratio(self.redeemed, self.issued)

    @property
    def breakage_rate(self) -> Decimal | None:
        return ratio(self.expired, self.issued)


def month_start(moment: datetime, months_back: int = 0) -> datetime:
    year, month = moment.year, moment.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def points_by_month(*, as_of: datetime, months: int = MONTHS) -> list[PointsFlow]:
    """The last ``months`` calendar months up to ``as_of``, oldest first; months without any
    entry are there with zeros."""
    start = month_start(as_of, months - 1)
    rows = (
        LedgerEntry.objects.filter(created_at__gte=start, created_at__lte=as_of)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(**_points_sums())
        .order_by("month")
    )
    by_month = {(row["month"].year, row["month"].month): row for row in rows}
    flows = []
    for back in range(months - 1, -1, -1):
        month = month_start(as_of, back)
        row = by_month.get((month.year, month.month), {})
        flows.append(
            PointsFlow(
                issued=row.get("issued", 0),
                redeemed=row.get("redeemed", 0),
                expired=row.get("expired", 0),
                reversed=row.get("reversed", 0),
                month=month,
            )
        )
    return flows


def points_totals(*, as_of: datetime) -> PointsFlow:
    """All time, up to ``as_of``."""
    sums = LedgerEntry.objects.filter(created_at__lte=as_of).aggregate(**_points_sums())
    return PointsFlow(**sums)


# --- liability -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Liability:
    points_available: int
    points_pending: int
    point_value: Decimal
    currency: str

    @property
    def points(self) -> int:
        return self.points_available + self.points_pending

    @property
    def available(self) -> Decimal:
        return money(self.points_available, self.point_value)

    @property
    def pending(self) -> Decimal:
        return money(self.points_pending, self.point_value)

    @property
    def total(self) -> Decimal:
        return money(self.points, self.point_value)


def liability(*, program: Program) -> Liability:
    sums = PointLot.objects.filter(remaining__gt=0).aggregate(
        available=Coalesce(Sum("remaining", filter=Q(is_pending=False)), 0),
        pending=Coalesce(Sum("remaining", filter=Q(is_pending=True)), 0),
    )
    return Liability(sums["available"], sums["pending"], program.point_value, program.currency)


# --- tiers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierShare:
    code: str
    name: str
    rank: int
    members: int
    share: Decimal | None


def tier_distribution() -> list[TierShare]:
    """Members (not closed) per tier, every tier listed, lowest rank first."""
    per_tier = (
        Member.objects.exclude(status=Member.Status.CLOSED)
        .filter(tier=OuterRef("pk"))
        .order_by()
        .values_list(Func(F("id"), function="COUNT"))
    )
    tiers = list(
        Tier.objects.annotate(members=Coalesce(Subquery(per_tier, output_field=IntegerField()), 0))
        .order_by("rank")
        .values("code", "name", "rank", "members")
    )
    total = sum(tier["members"] for tier in tiers)
    return [TierShare(**tier, share=ratio(tier["members"], total)) for tier in tiers]


@dataclass(frozen=True)
class TierMoves:
    month: datetime
    up: int
    down: int


def tier_movements(*, as_of: datetime, months: int = MONTHS) -> list[TierMoves]:
    """Moves between tiers per month (enrolments left out), oldest first."""
    start = month_start(as_of, months - 1)
    rows = (
        TierChange.objects.filter(created_at__gte=start, created_at__lte=as_of, from_tier__isnull=False)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(
            up=Count("id", filter=Q(to_tier__rank__gt=F("from_tier__rank"))),
            down=Count("id", filter=Q(to_tier__rank__lt=F("from_tier__rank"))),
        )
        .order_by("month")
    )
    by_month = {(row["month"].year, row["month"].month): row for row in rows}
    moves = []
    for back in range(months - 1, -1, -1):
        month = month_start(as_of, back)
        row = by_month.get((month.year, month.month), {})
        moves.append(TierMoves(month, row.get("up", 0), row.get("down", 0)))
    return moves


# --- campaigns and rewards -------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignResult:
    code: str
    name: str
    starts_at: datetime
    ends_at: datetime
    points_paid: int
    members_rewarded: int
    purchases: int
    spend: Decimal
    purchases_before: int
    spend_before: Decimal

    @property
    def spend_change(self) -> Decimal | None:
        """Spend during the campaign against the same length of time before it, in percent."""
        if not self.spend_before:
            return None
        return ratio(self.spend - self.spend_before, self.spend_before)


def _scalar(queryset, expression, output_field):
    """A correlated subquery that returns one aggregate over ``queryset`` (no GROUP BY)."""
    return Subquery(queryset.order_by().values_list(expression), output_field=output_field)


def campaign_results(*, as_of: datetime, limit: int = 10) -> list[CampaignResult]:
    """The latest campaigns that have started: points their awards paid, and purchases and
    spend (program-wide, less refunds) during the campaign (up to ``as_of`` while it runs)
    against the same length of time just before it."""
    from campaigns.models import Award, Campaign

    money_field = DecimalField(max_digits=14, decimal_places=2)
    count = Func(F("id"), function="COUNT")
    spend = Func(F("amount") - F("refunded_amount"), function="SUM", output_field=money_field)

    def purchases(start: str, end: str):
        return Purchase.objects.filter(purchased_at__gte=OuterRef(start), purchased_at__lt=OuterRef(end))

    awards = Award.objects.filter(campaign=OuterRef("pk"))
    distinct_members = Func(F("member_id"), function="COUNT", template="COUNT(DISTINCT %(expressions)s)")
    zero_money = Value(Decimal("0"), output_field=money_field)
    rows = (
        Campaign.objects.filter(starts_at__lte=as_of)
        .annotate(
            period_end=Least(F("ends_at"), Value(as_of, output_field=DateTimeField())),
        )
        .annotate(
            before_start=ExpressionWrapper(
                F("starts_at") - (F("period_end") - F("starts_at")), output_field=DateTimeField()
            ),
            points_paid=Coalesce(_scalar(awards, Func(F("points"), function="SUM"), IntegerField()), 0),
            members_rewarded=Coalesce(_scalar(awards, distinct_members, IntegerField()), 0),
            purchases=Coalesce(_scalar(purchases("starts_at", "period_end"), count, IntegerField()), 0),
            spend=Coalesce(_scalar(purchases("starts_at", "period_end"), spend, money_field), zero_money),
        )
        .annotate(
            purchases_before=Coalesce(
                _scalar(purchases("before_start", "starts_at"), count, IntegerField()), 0
            ),
            spend_before=Coalesce(
                _scalar(purchases("before_start", "starts_at"), spend, money_field), zero_money
            ),
        )
        .order_by("-starts_at", "-id")
        .values(
            "code",
            "name",
            "starts_at",
            "ends_at",
            "points_paid",
            "members_rewarded",
            "purchases",
            "spend",
            "purchases_before",
            "spend_before",
        )[:limit]
    )
    return [CampaignResult(**row) for row in rows]


@dataclass(frozen=True)
class RewardResult:
    code: str
    name: str
    redemptions: int
    used: int
    points: int
    cash_value: Decimal


def top_rewards(*, limit: int = 10) -> list[RewardResult]:
    """Rewards by redemptions that were not cancelled; points are net of points given back."""
    from rewards.models import Redemption, Reward

    kept = ~Q(redemptions__status=Redemption.Status.CANCELLED)
    rows = (
        Reward.objects.annotate(
            redemptions_count=Count("redemptions", filter=kept),
            used=Count("redemptions", filter=Q(redemptions__status=Redemption.Status.USED)),
            points=Coalesce(
                Sum(F("redemptions__points_spent") - F("redemptions__points_returned"), filter=kept), 0
            ),
            cash=Coalesce(
                Sum("redemptions__cash_value", filter=kept),
                Value(Decimal("0")),
                output_field=DecimalField(max_digits=14, decimal_places=2),
            ),
        )
        .filter(redemptions_count__gt=0)
        .order_by("-redemptions_count", "-points", "code")
        .values("code", "name", "redemptions_count", "used", "points", "cash")[:limit]
    )
    return [
        RewardResult(
            code=row["code"],
            name=row["name"],
            redemptions=row["redemptions_count"],
            used=row["used"],
            points=row["points"],
            cash_value=row["cash"],
        )
        for row in rows
    ]


# --- reconciliation --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciliation:
    passed: bool | None  # None: no check recorded yet
    checked_at: datetime | None
    violations: int
    detail: str = ""


def reconciliation() -> Reconciliation:
    """Whether the latest recorded ``check_ledger`` run passed. The check itself reads every
    member's ledger, so the page reports the nightly run and never checks live."""
    run = (
        JobRun.objects.filter(name="check_ledger")
        .exclude(outcome=JobRun.Outcome.RUNNING)
        .order_by("-started_at", "-id")
        .first()
    )
    if run is None:
        return Reconciliation(passed=None, checked_at=None, violations=0)
    counted = re.match(r"(\d+) violation", run.detail or "")
    return Reconciliation(
        passed=run.outcome == JobRun.Outcome.SUCCEEDED,
        checked_at=run.finished_at or run.started_at,
        violations=int(counted.group(1)) if counted else 0,
        detail=(run.detail or "").splitlines()[0] if run.detail else "",
    )


# --- all of it -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramFigures:
    as_of: datetime
    program: Program
    membership: Membership
    months: list[PointsFlow]
    totals: PointsFlow
    liability: Liability
    tiers: list[TierShare]
    tier_moves: list[TierMoves]
    campaigns: list[CampaignResult]
    rewards: list[RewardResult]
    reconciliation: Reconciliation


def program_figures(*, as_of: datetime) -> ProgramFigures:
    program = Program.load()
    return ProgramFigures(
        as_of=as_of,
        program=program,
        membership=membership(as_of=as_of),
        months=points_by_month(as_of=as_of),
        totals=points_totals(as_of=as_of),
        liability=liability(program=program),
        tiers=tier_distribution(),
        tier_moves=tier_movements(as_of=as_of),
        campaigns=campaign_results(as_of=as_of),
        rewards=top_rewards(),
        reconciliation=reconciliation(),
    )


# --- partner statements ----------------------------------------------------------------------
#
# Per store and calendar month (in the program's time zone): the points issued there (credited
# for the store's purchases and activities, net of its refunds: every entry made for the store
# that is not a redemption) and redeemed there (its redemptions, net of their cancellations),
# their value at the program's point value, and ``net``: what the program owes the store
# (positive; the store gave rewards for points the program issued) or the store owes the program
# (negative; it issued more than it took back). Program bonuses carry no store: they are the
# program's. Every entry made for a store is in exactly one of the two columns, so the
# statements of a month add up to the entries made for stores that month.


@dataclass(frozen=True)
class Statement:
    store_id: int
    store_name: str
    month: date
    points_issued: int
    points_redeemed: int
    point_value: Decimal
    currency: str

    @property
    def value_issued(self) -> Decimal:
        return money(self.points_issued, self.point_value)

    @property
    def value_redeemed(self) -> Decimal:
        return money(self.points_redeemed, self.point_value)

    @property
    def net(self) -> Decimal:
        return self.value_redeemed - self.value_issued


MONTH_FORMAT = re.compile(r"^([1-9][0-9]{3})-(0[1-9]|1[0-2])$")


def statement_month(text: object) -> date:
    """The first day of month ``YYYY-MM``, or ``InvalidRequest`` on the ``month`` field."""
    found = MONTH_FORMAT.match(text) if isinstance(text, str) else None
    if not found:
        raise InvalidRequest("A month is written YYYY-MM.", fields={"month": ["A month as YYYY-MM."]})
    return date(int(found.group(1)), int(found.group(2)), 1)


def _month_bounds(month: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    if (month.year, month.month) == (9999, 12):
        return start, datetime.max.replace(tzinfo=zone)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=zone)
    return start, end


def _statement_sums(month: date, store_ids: list[int] | None) -> dict[int, tuple[int, int]]:
    start, end = _month_bounds(month)
    entries = LedgerEntry.objects.filter(store__isnull=False, created_at__gte=start, created_at__lt=end)
    if store_ids is not None:
        entries = entries.filter(store_id__in=store_ids)
    redemption = Q(source_type=LedgerEntry.Source.REDEMPTION)
    rows = entries.values("store_id").annotate(
        issued=Coalesce(Sum("points", filter=~redemption), 0),
        redeemed=Coalesce(Sum("points", filter=redemption), 0),
    )
    return {row["store_id"]: (int(row["issued"]), -int(row["redeemed"])) for row in rows}


def store_statement(*, store: Store, month: date, program: Program | None = None) -> Statement:
    """One store's statement for ``month``: one aggregate query (and the program, if not given)."""
    program = program or Program.load()
    issued, redeemed = _statement_sums(month, [store.pk]).get(store.pk, (0, 0))
    return Statement(store.pk, store.name, month, issued, redeemed, program.point_value, program.currency)


def partner_statements(*, month: date) -> list[Statement]:
    """Every store's statement for ``month``, stores without entries included: three queries."""
    program = Program.load()
    sums = _statement_sums(month, None)
    return [
        Statement(store_id, name, month, *sums.get(store_id, (0, 0)), program.point_value, program.currency)
        for store_id, name in Store.objects.order_by("name").values_list("pk", "name")
    ]
