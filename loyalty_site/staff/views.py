"""The staff portal: program figures, and the tier what-if. Thin: the figures come from
``reports`` and ``whatif``, the writes from ``services``."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from members.errors import LoyaltyError
from members.models import Program, Tier

from . import charts
from .forms import TierDraftForm
from .models import AdjustmentRequest, TierDraft
from .offers import offer_tables
from .plans import plan_tables
from .reports import partner_statements, program_figures, statement_month
from .services import tier_draft_publish, tier_draft_save
from .tables import csv_response, figure_tables, statements_table
from .whatif import tier_what_if

# Each month's flow of points, its name in the chart's legend, and its colour.
POINTS_SERIES = {
    "issued": (gettext_lazy("Issued"), "#3d3dd6"),
    "redeemed": (gettext_lazy("Redeemed"), "#1f9d6b"),
    "expired": (gettext_lazy("Expired"), "#d98a1c"),
    "reversed": (gettext_lazy("Reversed"), "#c23b4b"),
}


@staff_member_required
def dashboard(request):
    if not request.user.has_perm("staff.view_reports"):
        # Support agents and store managers land here after logging in: their work is in admin.
        return redirect("admin:index")
    figures = program_figures(as_of=timezone.now())
    tables = {
        **figure_tables(figures),
        **plan_tables(as_of=figures.as_of),
        **offer_tables(as_of=figures.as_of),
    }
    export = request.GET.get("export")
    if export:
        if export not in tables:
            raise Http404("No such table.")
        return csv_response(tables[export], f"{export}-{figures.as_of:%Y-%m-%d}")
    months = [date_format(flow.month, "M") for flow in figures.months]
    context = {
        "figures": figures,
        "tables": tables,
        "pending_adjustments": AdjustmentRequest.objects.filter(
            status=AdjustmentRequest.Status.PENDING
        ).count(),
        "points_chart": charts.grouped_bars(
            labels=months,
            series=[
                charts.Series(str(label), [getattr(flow, name) for flow in figures.months], colour)
                for name, (label, colour) in POINTS_SERIES.items()
            ],
            title=_("Points issued, redeemed, expired and reversed per month"),
            width=1100,
            height=300,
        ),
        "tier_chart": charts.horizontal_bars(
            labels=[tier.name for tier in figures.tiers],
            values=[tier.members for tier in figures.tiers],
            title=_("Members per tier"),
        ),
        "moves_chart": charts.diverging_bars(
            labels=[date_format(moves.month, "M") for moves in figures.tier_moves],
            up=charts.Series(_("Moved up"), [moves.up for moves in figures.tier_moves], "#1f9d6b"),
            down=charts.Series(_("Moved down"), [moves.down for moves in figures.tier_moves], "#c23b4b"),
            title=_("Tier moves per month"),
            width=1100,
            height=240,
        ),
    }
    return render(request, "staff/dashboard.html", context)


@staff_member_required
@permission_required("staff.edit_tier_draft", raise_exception=True)
def tier_what_if_view(request):
    tiers = list(Tier.objects.order_by("rank"))
    draft = TierDraft.objects.filter(published_at__isnull=True).order_by("-updated_at", "-id").first()
    if request.method == "POST" and request.POST.get("action") == "publish":
        return _publish(request, draft)
    if request.method == "POST" and request.POST.get("action") == "discard" and draft is not None:
        _history(request, draft, DELETION, "Discarded the tier draft")
        draft.delete()
        messages.success(request, _("Draft discarded."))
        return redirect("staff:tiers")
    initial = draft.tiers if draft else {}
    form = TierDraftForm(request.POST or None, tiers=tiers, initial_draft=initial)
    if request.method == "POST" and form.is_valid():
        try:
            draft = tier_draft_save(
                tiers=form.draft(), staff_user=request.user, draft_id=draft.pk if draft else None
            )
        except LoyaltyError as error:
            for code, problems in (error.fields or {}).items():
                field = f"{code}-threshold"
                form.add_error(field if field in form.fields else None, problems)
            if not error.fields:
                form.add_error(None, error.message)
        else:
            _history(request, draft, CHANGE, f"Saved the tier draft: {draft.tiers}")
            messages.success(request, _("Draft saved. The preview below uses it."))
            return redirect("staff:tiers")
    what_if = None
    if draft is not None:
        what_if = tier_what_if(draft=draft.tiers, as_of=timezone.now())
    chart = None
    if what_if is not None:
        chart = charts.grouped_bars(
            labels=[row.name for row in what_if.rows],
            series=[
                charts.Series(_("Today"), [row.members for row in what_if.rows], "#9aa1b1"),
                charts.Series(_("Current tiers"), [row.after_now for row in what_if.rows], "#3d3dd6"),
                charts.Series(_("Draft"), [row.after for row in what_if.rows], "#d98a1c"),
            ],
            title=_(
                "Members per tier today, and after tonight's tier job with the current tiers and the draft"
            ),
            width=1100,
            height=300,
        )
    context = {"form": form, "draft": draft, "what_if": what_if, "chart": chart}
    return render(request, "staff/tiers.html", context)


def _publish(request, draft: TierDraft | None):
    if draft is None:
        messages.error(request, _("There is no draft to publish."))
        return redirect("staff:tiers")
    before = {tier.pk: tier for tier in Tier.objects.all()}
    try:
        tier_draft_publish(draft_id=draft.pk, staff_user=request.user)
    except LoyaltyError as error:
        messages.error(request, error.message)
        return redirect("staff:tiers")
    changed = [
        tier
        for tier in Tier.objects.filter(pk__in=before)
        if (tier.threshold, tier.multiplier) != (before[tier.pk].threshold, before[tier.pk].multiplier)
    ]
    for tier in changed:
        old = before[tier.pk]
        _history(
            request,
            tier,
            CHANGE,
            f"Published tier draft {draft.pk}: threshold {old.threshold} → {tier.threshold}, "
            f"multiplier {old.multiplier} → {tier.multiplier}",
        )
    messages.success(
        request,
        ngettext(
            "Published: %(count)s tier changed. Members move when the tier job next runs.",
            "Published: %(count)s tiers changed. Members move when the tier job next runs.",
            len(changed),
        )
        % {"count": len(changed)},
    )
    return redirect("staff:tiers")


def _history(request, obj, action_flag: int, message: str) -> None:
    """The admin history (and through it the audit events) of what staff do on these pages."""
    LogEntry.objects.log_actions(
        user_id=request.user.pk,
        queryset=[obj],
        action_flag=action_flag,
        change_message=message,
        single_object=True,
    )


@staff_member_required
@permission_required("staff.view_reports", raise_exception=True)
def statements_view(request):
    """Every store's statement for a month (``?month=YYYY-MM``, default this month), with CSV."""
    month_text = request.GET.get("month") or f"{timezone.localtime():%Y-%m}"
    try:
        month = statement_month(month_text)
    except LoyaltyError as error:
        messages.error(request, error.message)
        month = statement_month(f"{timezone.localtime():%Y-%m}")
    statements = partner_statements(month=month)
    table = statements_table(statements)
    if request.GET.get("export") == "statements":
        return csv_response(table, f"statements-{month:%Y-%m}")
    context = {"month": month, "table": table, "currency": Program.load().currency}
    return render(request, "staff/statements.html", context)


@staff_member_required
def engagement_view(request):
    """Participation and completion per challenge, badge counts, engaged members by month."""
    if not request.user.has_perm("staff.view_reports"):
        return redirect("admin:index")
    from campaigns.models import Event

    from .engagement import check_in_posters, engagement_figures

    figures = engagement_figures(as_of=timezone.now())
    events = list(Event.objects.filter(is_active=True, ends_at__gt=timezone.now()).order_by("starts_at")[:10])
    return render(request, "staff/engagement.html", {"figures": figures, "posters": check_in_posters(events)})
