"""The staff portal's tables (django-tables2), each one also a CSV download."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

import django_tables2 as tables
from django.http import HttpResponse

from .reports import ProgramFigures, Statement

NUM = {"th": {"class": "num"}, "td": {"class": "num"}}


class FigureTable(tables.Table):
    """Figures in the order the report gives them: no sorting, no paging."""

    def __init__(self, data, **kwargs):
        kwargs.setdefault("orderable", False)
        kwargs.setdefault("attrs", {"class": "table compact staff-table"})
        kwargs.setdefault("template_name", "django_tables2/table.html")
        super().__init__(data, **kwargs)


class SummaryTable(FigureTable):
    figure = tables.Column()
    value = tables.Column(attrs=NUM)


class MonthlyPointsTable(FigureTable):
    month = tables.DateColumn(format="M Y")
    issued = tables.Column(attrs=NUM)
    redeemed = tables.Column(attrs=NUM)
    expired = tables.Column(attrs=NUM)
    reversed = tables.Column(attrs=NUM)
    net = tables.Column(attrs=NUM, verbose_name="Net change")


class TierDistributionTable(FigureTable):
    name = tables.Column(verbose_name="Tier")
    members = tables.Column(attrs=NUM)
    share = tables.Column(attrs=NUM, verbose_name="Share %")


class TierMovesTable(FigureTable):
    month = tables.DateColumn(format="M Y")
    up = tables.Column(attrs=NUM, verbose_name="Moved up")
    down = tables.Column(attrs=NUM, verbose_name="Moved down")


class CampaignResultsTable(FigureTable):
    name = tables.Column(verbose_name="Campaign")
    starts_at = tables.DateColumn(format="Y-m-d", verbose_name="Starts")
    ends_at = tables.DateColumn(format="Y-m-d", verbose_name="Ends")
    points_paid = tables.Column(attrs=NUM, verbose_name="Points paid")
    members_rewarded = tables.Column(attrs=NUM, verbose_name="Members")
    purchases = tables.Column(attrs=NUM, verbose_name="Purchases")
    spend = tables.Column(attrs=NUM, verbose_name="Spend")
    purchases_before = tables.Column(attrs=NUM, verbose_name="Purchases before")
    spend_before = tables.Column(attrs=NUM, verbose_name="Spend before")
    spend_change = tables.Column(attrs=NUM, verbose_name="Spend change %", default="—")


class TopRewardsTable(FigureTable):
    name = tables.Column(verbose_name="Reward")
    redemptions = tables.Column(attrs=NUM)
    used = tables.Column(attrs=NUM)
    points = tables.Column(attrs=NUM, verbose_name="Points (net)")
    cash_value = tables.Column(attrs=NUM, verbose_name="Cash value")


def _percent(value) -> str:
    return "—" if value is None else f"{value}%"


def figure_tables(figures: ProgramFigures) -> dict[str, FigureTable]:
    """Every table of the dashboard, by the name its CSV download uses."""
    members, totals, liability = figures.membership, figures.totals, figures.liability
    currency = liability.currency
    summary = [
        ("Members", members.members),
        (f"Active members (activity in {90} days)", members.active),
        ("Participation rate", _percent(members.participation_rate)),
        ("New members (30 days)", members.new_last_30_days),
        ("Points issued (all time)", totals.issued),
        ("Points redeemed (all time)", totals.redeemed),
        ("Points expired (all time)", totals.expired),
        ("Points reversed (all time)", totals.reversed),
        ("Redemption rate", _percent(totals.redemption_rate)),
        ("Breakage rate", _percent(totals.breakage_rate)),
        ("Outstanding points: available", liability.points_available),
        ("Outstanding points: pending", liability.points_pending),
        (f"Liability: available ({currency})", liability.available),
        (f"Liability: pending ({currency})", liability.pending),
        (f"Liability: total ({currency})", liability.total),
    ]
    return {
        "summary": SummaryTable([{"figure": f, "value": v} for f, v in summary]),
        "points": MonthlyPointsTable(
            [
                {
                    "month": flow.month,
                    "issued": flow.issued,
                    "redeemed": flow.redeemed,
                    "expired": flow.expired,
                    "reversed": flow.reversed,
                    "net": flow.net,
                }
                for flow in figures.months
            ]
        ),
        "tiers": TierDistributionTable(
            [{"name": t.name, "members": t.members, "share": _percent(t.share)} for t in figures.tiers]
        ),
        "tier_moves": TierMovesTable(
            [{"month": m.month, "up": m.up, "down": m.down} for m in figures.tier_moves]
        ),
        "campaigns": CampaignResultsTable(
            [{**vars(c), "spend_change": _percent(c.spend_change)} for c in figures.campaigns]
        ),
        "rewards": TopRewardsTable([vars(r) for r in figures.rewards]),
    }


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?%?$")


def csv_cell(value) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula (a campaign or reward
    name staff typed, say) gets a leading apostrophe. Plain numbers, negative ones too, stay
    numbers."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def csv_response(table: FigureTable, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    writer = csv.writer(response)
    rows: Iterable = table.as_values()
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return response


class StatementsTable(FigureTable):
    store = tables.Column()
    points_issued = tables.Column(attrs=NUM, verbose_name="Points issued")
    points_redeemed = tables.Column(attrs=NUM, verbose_name="Points redeemed")
    value_issued = tables.Column(attrs=NUM, verbose_name="Value issued")
    value_redeemed = tables.Column(attrs=NUM, verbose_name="Value redeemed")
    net = tables.Column(attrs=NUM, verbose_name="Net (+ program owes the store)")


def statements_table(statements: list[Statement]) -> StatementsTable:
    return StatementsTable(
        [
            {
                "store": s.store_name,
                "points_issued": s.points_issued,
                "points_redeemed": s.points_redeemed,
                "value_issued": s.value_issued,
                "value_redeemed": s.value_redeemed,
                "net": s.net,
            }
            for s in statements
        ]
    )
