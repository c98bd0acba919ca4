from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html

from .models import LedgerEntry

SOURCE_PHRASES = {
    LedgerEntry.Source.PURCHASE: "Purchase",
    LedgerEntry.Source.REFUND: "Refund",
    LedgerEntry.Source.REDEMPTION: "Reward",
    LedgerEntry.Source.CAMPAIGN: "Promotion",
    LedgerEntry.Source.ACTIVITY: "Activity",
    LedgerEntry.Source.REFERRAL: "Referral",
    LedgerEntry.Source.STAFF: "From our team",
    LedgerEntry.Source.EXPIRY: "Expiry",
    LedgerEntry.Source.SYSTEM: "Rewards Club",
}


def entry_description(entry: LedgerEntry) -> str:
    """What a member reads for an entry: its own description, else where it came from."""
    if entry.description:
        return entry.description
    phrase = SOURCE_PHRASES.get(entry.source_type, entry.get_source_type_display())
    if entry.source_type in (LedgerEntry.Source.PURCHASE, LedgerEntry.Source.REFUND) and entry.source_id:
        return f"{phrase} {entry.source_id}"
    return f"{phrase}: {entry.get_kind_display().lower()}"


class LedgerTable(tables.Table):
    created_at = tables.DateTimeColumn(verbose_name="Date", format="j M Y")
    kind = tables.Column(verbose_name="Type")
    description = tables.Column(verbose_name="Details", empty_values=(), orderable=False)
    points = tables.Column(verbose_name="Points", attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    balance_after = tables.Column(
        verbose_name="Balance", attrs={"th": {"class": "num"}, "td": {"class": "num muted"}}
    )

    class Meta:
        model = LedgerEntry
        fields = ("created_at", "kind", "description", "points", "balance_after")
        order_by = ("-created_at",)
        template_name = "includes/table.html"
        attrs = {"class": "table ledger"}
        empty_text = "No entries match."
        orderable = True

    def render_kind(self, record: LedgerEntry) -> str:
        return format_html('<span class="chip kind-{}">{}</span>', record.kind, record.get_kind_display())

    def render_description(self, record: LedgerEntry) -> str:
        source = SOURCE_PHRASES.get(record.source_type, record.get_source_type_display())
        return format_html(
            '{}<br><small class="muted">{}</small>', entry_description(record), source
        )

    def render_points(self, value: int) -> str:
        return format_html('<span class="{}">{}</span>', "plus" if value > 0 else "minus", f"{value:+,}")

    def render_balance_after(self, value: int) -> str:
        return f"{value:,}"

    def order_created_at(self, queryset, is_descending: bool):
        prefix = "-" if is_descending else ""
        return queryset.order_by(f"{prefix}created_at", f"{prefix}id"), True
