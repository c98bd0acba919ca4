from __future__ import annotations

import django_tables2 as tables
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import LedgerEntry

SOURCE_PHRASES = {
    LedgerEntry.Source.PURCHASE: _("Purchase"),
    LedgerEntry.Source.REFUND: _("Refund"),
    LedgerEntry.Source.REDEMPTION: _("Reward"),
    LedgerEntry.Source.CAMPAIGN: _("Promotion"),
    LedgerEntry.Source.ACTIVITY: _("Activity"),
    LedgerEntry.Source.REFERRAL: _("Referral"),
    LedgerEntry.Source.STAFF: _("From our team"),
    LedgerEntry.Source.EXPIRY: _("Expiry"),
    LedgerEntry.Source.SYSTEM: _("The program"),
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
    created_at = tables.DateTimeColumn(verbose_name=_("Date"), format="j M Y")
    kind = tables.Column(verbose_name=_("Type"))
    description = tables.Column(verbose_name=_("Details"), empty_values=(), orderable=False)
    points = tables.Column(verbose_name=_("Points"), attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    balance_after = tables.Column(
        verbose_name=_("Balance"), attrs={"th": {"class": "num"}, "td": {"class": "num muted"}}
    )

    class Meta:
        model = LedgerEntry
        fields = ("created_at", "kind", "description", "points", "balance_after")
        order_by = ("-created_at",)
        template_name = "includes/table.html"
        attrs = {"class": "table ledger"}
        empty_text = _("No entries match.")
        orderable = True

    def render_kind(self, record: LedgerEntry) -> str:
        return format_html('<span class="chip kind-{}">{}</span>', record.kind, record.get_kind_display())

    def render_description(self, record: LedgerEntry) -> str:
        source = SOURCE_PHRASES.get(record.source_type, record.get_source_type_display())
        return format_html('{}<br><small class="muted">{}</small>', entry_description(record), source)

    def render_points(self, value: int) -> str:
        sign = "+" if value > 0 else "-"
        figure = formats.number_format(abs(value), 0, use_l10n=True, force_grouping=True)
        return format_html('<span class="{}">{}{}</span>', "plus" if value > 0 else "minus", sign, figure)

    def render_balance_after(self, value: int) -> str:
        return formats.number_format(value, 0, use_l10n=True, force_grouping=True)

    def order_created_at(self, queryset, is_descending: bool):
        prefix = "-" if is_descending else ""
        return queryset.order_by(f"{prefix}created_at", f"{prefix}id"), True
