"""Settling ended campaigns: spend-threshold bonuses, and retroactive campaigns (those created
after purchases in their window, which therefore did not earn them at purchase time). A
campaign settles once its end plus the program's return window has passed, so it pays on what
was bought net of what was refunded by then.

It is the ``settle_campaigns`` job (registered by ``CampaignsConfig``), chunked by member-id
range like every job and set-based: a chunk finds the members of its range with a purchase in
the window of a campaign that is due (a scratch table), locks them in id order, and then,
campaign by campaign, decides again under the locks:

1. the campaign's qualifying purchases and the lines it targets (two scratch tables);
2. what each member gets: the campaign strategy's ``settle_sql``, the points ``apply`` would
   have given at purchase time, tier multiplier included;
3. less members already paid, within the per-member cap, then within what is left of the budget
   (members in id order while it lasts);
4. paid in a few statements: ledger entries, lots and balances (``points_credit_listed``) and
   the awards that say which campaign gave them.

Each payment has the idempotency key ``campaign:<id>:member:<id>``, so a run killed halfway and
run again pays each member once. The chunk that completes a run marks settled the campaigns that
were due when the run started: every chunk of the run has paid them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from members.jobs import Counts, job_run
from members.jobs.base import ScratchTable, db_datetime
from members.jobs.credits import points_credit_listed
from members.locks import lock_members_in
from members.models import JobRun, LedgerEntry, Program
from members.models_plans import membership_running_sql
from members.tiers import tier_id_at_sql

from ..budgets import budget_take
from ..engine.strategies import SETTLED_KINDS, CampaignStrategy, SettlementInput, Sql, strategy_for
from ..models import Campaign
from ..policy import EarningPolicy, get_policy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SettlementReport(Counts):
    """Member payments and points paid; campaigns marked settled (and their codes), counted by
    the chunk that completed the run."""

    members: int = 0
    points: int = 0
    campaigns: int = 0
    settled: tuple[str, ...] = ()

    def as_text(self) -> str:
        codes = f" ({', '.join(self.settled)})" if self.settled else ""
        return f"members {self.members}, points {self.points}, campaigns {self.campaigns}{codes}"


def campaigns_due(*, as_of: datetime) -> QuerySet[Campaign]:
    """Ended campaigns that pay after the end, once the return window of their last purchases
    has closed: a purchase refunded within it counts net of the refund, not in full."""
    return_window = timedelta(days=Program.load().return_window_days)
    return Campaign.objects.filter(
        Q(kind__in=SETTLED_KINDS) | Q(retroactive=True),
        is_active=True,
        settled_at__isnull=True,
        ends_at__lte=as_of - return_window,
    ).order_by("ends_at", "pk")


def campaigns_settle(*, as_of: datetime | None = None, chunk_size: int | None = None) -> SettlementReport:
    """Pay every ended threshold or retroactive campaign not yet settled: the ``settle_campaigns``
    job, run inline chunk after chunk."""
    return job_run(name="settle_campaigns", as_of=as_of, chunk_size=chunk_size)[1]


def campaigns_settle_chunk(*, as_of: datetime, first_id: int, last_id: int, **_) -> SettlementReport:
    """Pay the members of one id range what every campaign due as of ``as_of`` owes them."""
    # Campaigns in the order purchases take their budgets (``Campaign.objects.for_purchase``),
    # so a chunk and a purchase that both spend budgets take the campaign rows in one order.
    due = campaigns_due(as_of=as_of).order_by("-priority", "pk").prefetch_related("stores", "tiers")
    campaigns = list(due)
    if not campaigns:
        return SettlementReport()
    program, policy = Program.load(), get_policy()
    windows = " OR ".join("(p.purchased_at >= %s AND p.purchased_at < %s)" for _ in campaigns)
    params: list = [first_id, last_id]
    for campaign in campaigns:
        params += [db_datetime(campaign.starts_at), db_datetime(campaign.ends_at)]
    total = SettlementReport()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        ScratchTable(cursor, "settle_members") as candidates,
    ):
        found = candidates.fill(
            "SELECT DISTINCT p.member_id FROM members_purchase p "
            "JOIN members_member m ON m.id = p.member_id "
            f"WHERE p.member_id BETWEEN %s AND %s AND m.status = 'active' AND ({windows})",
            params,
        )
        if not found:
            return total
        lock_members_in(f"SELECT member_id FROM {candidates.name}")
        for campaign in campaigns:
            total += _campaign_pay(
                cursor,
                campaign=campaign,
                program=program,
                policy=policy,
                first_id=first_id,
                last_id=last_id,
                listed=candidates.name,
                now=as_of,
            )
    return total


def campaigns_settle_finish(*, run: JobRun) -> SettlementReport:
    """After the last chunk of a run: the campaigns that were due when it started, which every
    chunk has paid, are settled."""
    due = campaigns_due(as_of=run.as_of).filter(created_at__lte=run.started_at)
    codes = list(due.values_list("code", flat=True))
    Campaign.objects.filter(code__in=codes, settled_at__isnull=True).update(settled_at=run.as_of)
    for code in codes:
        logger.info("Settled campaign %s", code)
    return SettlementReport(campaigns=len(codes), settled=tuple(codes))


def _purchases_sql(
    campaign: Campaign, strategy: CampaignStrategy, *, first_id: int, last_id: int, listed: str
) -> Sql:
    """The campaign's qualifying purchases among the listed members of the range, with the
    multiplier of the tier each member was on when the purchase was recorded times that of their
    paid plan when it was made (``tier_multiplier``: the factor the till applied)."""
    where = [
        "p.member_id BETWEEN %s AND %s",
        f"p.member_id IN (SELECT member_id FROM {listed})",
        "m.status = 'active'",
        "p.purchased_at >= %s",
        "p.purchased_at < %s",
        "p.amount >= %s",
        "p.refunded_amount < p.amount",
    ]
    params: list = [
        first_id,
        last_id,
        db_datetime(campaign.starts_at),
        db_datetime(campaign.ends_at),
        campaign.min_spend,
    ]
    if strategy.pays_at_purchase:
        # Retroactive: only what was recorded before the campaign existed (the rest earned it live).
        where.append("p.created_at < %s")
        params.append(db_datetime(campaign.created_at))
    store_ids = [store.pk for store in campaign.stores.all()]
    if store_ids:
        where.append(f"p.store_id IN ({', '.join(['%s'] * len(store_ids))})")
        params += store_ids
    tier_ids = [tier.pk for tier in campaign.tiers.all()]
    if tier_ids:
        where.append(f"m.tier_id IN ({', '.join(['%s'] * len(tier_ids))})")
        params += tier_ids
    tier_at_purchase = tier_id_at_sql(
        member_id="p.member_id", moment="p.created_at", current_tier_id="m.tier_id"
    )
    # As at the till: the highest earn multiplier of the paid plans running when it was bought.
    plan_at_purchase = (
        "(SELECT MAX(pl.earn_multiplier) FROM members_membership ms "
        "JOIN members_membershipplan pl ON pl.id = ms.plan_id WHERE ms.member_id = p.member_id "
        f"AND {membership_running_sql('ms', 'p.purchased_at')})"
    )
    sql = (
        "SELECT q.purchase_id, q.member_id, q.amount, q.net_amount, "
        "COALESCE(t.multiplier, 1) * COALESCE(q.plan_multiplier, 1) AS tier_multiplier FROM ("
        "  SELECT p.id AS purchase_id, p.member_id, p.amount, p.amount - p.refunded_amount AS net_amount, "
        f"  {tier_at_purchase} AS tier_id, {plan_at_purchase} AS plan_multiplier "
        "  FROM members_purchase p JOIN members_member m ON m.id = p.member_id "
        f"  WHERE {' AND '.join(where)}"
        ") q LEFT JOIN members_tier t ON t.id = q.tier_id"
    )
    return sql, params


def _lines_sql(strategy: CampaignStrategy, *, purchases: str, program: Program) -> tuple[Sql, bool]:
    """The lines of ``purchases`` the campaign targets, each with its share of what was not
    refunded and the factor it started from at purchase time; and whether the campaign targets
    lines at all."""
    factor = "CAST(%s AS NUMERIC) * p.tier_multiplier"
    net = "CASE WHEN p.net_amount = p.amount THEN l.amount ELSE l.amount * p.net_amount / p.amount END"
    sql = (
        f"SELECT p.purchase_id, p.member_id, {net} AS net_amount, {factor} AS factor "
        f"FROM {purchases} p JOIN members_purchaseline l ON l.purchase_id = p.purchase_id"
    )
    params: list = [program.base_earn_rate]
    targets = strategy.eligible_lines_sql("l")
    if targets is None:
        sql += (
            f" UNION ALL SELECT p.purchase_id, p.member_id, p.net_amount, {factor} FROM {purchases} p "
            "WHERE NOT EXISTS (SELECT 1 FROM members_purchaseline l WHERE l.purchase_id = p.purchase_id)"
        )
        params.append(program.base_earn_rate)
    else:
        sql += f" WHERE {targets[0]}"
        params += targets[1]
    return (sql, params), targets is not None


def _campaign_pay(
    cursor,
    *,
    campaign: Campaign,
    program: Program,
    policy: EarningPolicy,
    first_id: int,
    last_id: int,
    listed: str,
    now: datetime,
) -> SettlementReport:
    """Pay what one campaign owes the listed (and locked) members of the range."""
    strategy = strategy_for(campaign)
    key = f"campaign:{campaign.pk}:member:"
    with (
        ScratchTable(cursor, "settle_purchases") as purchases,
        ScratchTable(cursor, "settle_lines") as lines,
        ScratchTable(cursor, "settle_due") as due,
        ScratchTable(cursor, "settle_within_budget") as within_budget,
    ):
        purchases_sql = _purchases_sql(campaign, strategy, first_id=first_id, last_id=last_id, listed=listed)
        if not purchases.fill(*purchases_sql):
            return SettlementReport()
        lines_sql, targeted = _lines_sql(strategy, purchases=purchases.name, program=program)
        lines.fill(*lines_sql)
        owed = strategy.settle_sql(
            SettlementInput(purchases=purchases.name, lines=lines.name, targeted=targeted, policy=policy)
        )
        if owed is None:
            return SettlementReport()
        owed_sql, owed_params = owed
        points, cap_params = "w.points", []
        if campaign.per_member_cap is not None:
            # What the member already had from the campaign (live awards too) counts toward its cap.
            left = "(CAST(%s AS BIGINT) - COALESCE(u.used, 0))"
            points = f"CASE WHEN w.points < {left} THEN w.points ELSE {left} END"
            cap_params = [campaign.per_member_cap, campaign.per_member_cap]
        paid_key = "CAST(%s AS TEXT) || CAST(w.member_id AS TEXT)"
        if not due.fill(
            f"SELECT w.member_id, {points} AS points, {paid_key} AS idempotency_key "
            f"FROM ({owed_sql}) w "
            "LEFT JOIN (SELECT member_id, SUM(points) AS used FROM campaigns_award "
            "WHERE campaign_id = %s GROUP BY member_id) u ON u.member_id = w.member_id "
            "WHERE w.points > 0 AND NOT EXISTS "
            f"(SELECT 1 FROM campaigns_award a WHERE a.settlement_key = {paid_key})",
            [*cap_params, key, *owed_params, campaign.pk, key],
        ):
            return SettlementReport()
        cursor.execute(f"DELETE FROM {due.name} WHERE points <= 0")
        paying = due.name
        if campaign.budget_points is not None:
            cursor.execute(f"SELECT COALESCE(SUM(points), 0) FROM {due.name}")
            (wanted,) = cursor.fetchone()
            granted = budget_take(campaign, int(wanted))
            if granted < wanted:
                # The budget ends inside this chunk: members in id order get theirs while it lasts.
                within_budget.fill(
                    "SELECT member_id, points, idempotency_key FROM ("
                    "  SELECT member_id, idempotency_key, "
                    "  CASE WHEN running <= %s THEN points WHEN running - points < %s "
                    "  THEN %s - (running - points) ELSE 0 END AS points FROM ("
                    "    SELECT d.*, SUM(d.points) OVER (ORDER BY d.member_id "
                    "    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running "
                    f"    FROM {due.name} d) r"
                    ") g WHERE g.points > 0",
                    [granted, granted, granted],
                )
                paying = within_budget.name
        members, paid = points_credit_listed(
            table=paying,
            kind=LedgerEntry.Kind.BONUS,
            source_type=LedgerEntry.Source.CAMPAIGN,
            source_id=str(campaign.pk),
            description=campaign.name,
            now=now,
        )
        cursor.execute(
            "INSERT INTO campaigns_award (member_id, campaign_id, source, points, position, settlement_key, "
            f"created_at) SELECT member_id, %s, %s, points, 0, idempotency_key, %s FROM {paying}",
            [campaign.pk, campaign.source, db_datetime(now)],
        )
    return SettlementReport(members=members, points=paid)
