"""The staff portal's tables (django-tables2), each one also a CSV download."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable

import django_tables2 as tables
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

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
    figure = tables.Column(verbose_name=gettext_lazy("Figure"))
    value = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Value"))


class MonthlyPointsTable(FigureTable):
    month = tables.DateColumn(format="M Y", verbose_name=gettext_lazy("Month"))
    issued = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Issued"))
    redeemed = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Redeemed"))
    expired = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Expired"))
    reversed = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Reversed"))
    net = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Net change"))


class TierDistributionTable(FigureTable):
    name = tables.Column(verbose_name=gettext_lazy("Tier"))
    members = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Members"))
    share = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Share %"))


class TierMovesTable(FigureTable):
    month = tables.DateColumn(format="M Y", verbose_name=gettext_lazy("Month"))
    up = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Moved up"))
    down = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Moved down"))


class CampaignResultsTable(FigureTable):
    name = tables.Column(verbose_name=gettext_lazy("Campaign"))
    starts_at = tables.DateColumn(format="Y-m-d", verbose_name=gettext_lazy("Starts"))
    ends_at = tables.DateColumn(format="Y-m-d", verbose_name=gettext_lazy("Ends"))
    points_paid = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Points paid"))
    members_rewarded = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Members"))
    purchases = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Purchases"))
    spend = tables.Column(attrs=NUM, verbose_name=pgettext_lazy("money spent", "Spend"))
    purchases_before = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Purchases before"))
    spend_before = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Spend before"))
    spend_change = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Spend change %"), default="—")


class TopRewardsTable(FigureTable):
    name = tables.Column(verbose_name=gettext_lazy("Reward"))
    redemptions = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Redemptions"))
    used = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Used"))
    points = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Points (net)"))
    cash_value = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Cash value"))


def _percent(value) -> str:
    return "—" if value is None else f"{value}%"


def figure_tables(figures: ProgramFigures) -> dict[str, FigureTable]:
    """Every table of the dashboard, by the name its CSV download uses."""
    members, totals, liability = figures.membership, figures.totals, figures.liability
    currency = liability.currency
    summary = [
        (_("Members"), members.members),
        (
            ngettext(
                "Active members (activity in %(days)s day)", "Active members (activity in %(days)s days)", 90
            )
            % {"days": 90},
            members.active,
        ),
        (_("Participation rate"), _percent(members.participation_rate)),
        (_("New members (30 days)"), members.new_last_30_days),
        (_("Points issued (all time)"), totals.issued),
        (_("Points redeemed (all time)"), totals.redeemed),
        (_("Points expired (all time)"), totals.expired),
        (_("Points reversed (all time)"), totals.reversed),
        (_("Redemption rate"), _percent(totals.redemption_rate)),
        (_("Breakage rate"), _percent(totals.breakage_rate)),
        (_("Outstanding points: available"), liability.points_available),
        (_("Outstanding points: pending"), liability.points_pending),
        (_("Liability: available (%(currency)s)") % {"currency": currency}, liability.available),
        (_("Liability: pending (%(currency)s)") % {"currency": currency}, liability.pending),
        (_("Liability: total (%(currency)s)") % {"currency": currency}, liability.total),
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
    store = tables.Column(verbose_name=gettext_lazy("Store"))
    points_issued = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Points issued"))
    points_redeemed = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Points redeemed"))
    value_issued = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Value issued"))
    value_redeemed = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Value redeemed"))
    net = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Net (+ program owes the store)"))


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
