"""The member portal's core pages. Every page takes the member from the session's user, never
from the URL, and runs a fixed number of queries whatever the length of the history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache, wraps

import segno
from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone, translation
from django.utils.dates import MONTHS, MONTHS_3
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django.views.i18n import set_language
from django_tables2 import RequestConfig

from . import config
from .cards import CARD_TOKEN_MINUTES, card_token_issue
from .errors import LoyaltyError
from .filters import LedgerFilter
from .formats import money
from .forms import CloseAccountForm, ProfileForm
from .models import LedgerEntry, Member, Program
from .privacy import member_erase, member_export
from .selectors import (
    member_dashboard,
    member_expiring_points,
    member_for_user,
)
from .services import member_claim_for_user, member_language_set, member_profile_update
from .tables import LedgerTable, entry_description

HISTORY_PAGE_SIZE = 20
# The card page fetches a new code this long before the shown one expires.
CARD_REFRESH_EARLY_SECONDS = 30


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Log-in required; the view gets the session user's member as its second argument. A login
    with no member (a staff user, say) gets a page that explains, not an error."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        member = member_for_user(request.user)
        if member is None:
            return no_member(request)
        return view(request, member, *args, **kwargs)

    return wrapper


def no_member(request: HttpRequest) -> HttpResponse:
    can_join = (
        not request.user.is_staff
        and EmailAddress.objects.filter(
            user=request.user, email__iexact=request.user.email, verified=True
        ).exists()
    )
    return render(request, "members/no_member.html", {"can_join": can_join})


@login_required
@require_POST
def join(request: HttpRequest) -> HttpResponse:
    """A verified login without a member becomes one (or claims the one a store enrolled)."""
    verified = EmailAddress.objects.filter(
        user=request.user, email__iexact=request.user.email, verified=True
    ).exists()
    if request.user.is_staff or not verified:
        return no_member(request)
    try:
        member_claim_for_user(user=request.user)
    except LoyaltyError as error:
        messages.error(request, error.message)
        return redirect("portal:dashboard")
    messages.success(request, _("Welcome to %(program)s!") % {"program": Program.load().name})
    return redirect("portal:dashboard")


def month_names() -> tuple[dict[int, str], dict[int, str]]:
    """The month names (``date:"F"``) and abbreviations (``date:"M"``) in the active language,
    translated once per language rather than once per use."""
    return _month_names(translation.get_language())


@cache
def _month_names(language: str | None) -> tuple[dict[int, str], dict[int, str]]:
    with translation.override(language):
        return {m: str(name) for m, name in MONTHS.items()}, {m: str(n).title() for m, n in MONTHS_3.items()}


@dataclass(frozen=True)
class MonthBar:
    month: date
    earned: int
    used: int
    balance: int
    x: float
    earned_y: float
    earned_height: float
    used_height: float

    def figures(self, separator: str) -> tuple[str, str, str]:
        """Earned, used and balance, grouped in thousands with the language's ``separator``."""
        figures = (self.earned, self.used, self.balance)
        return tuple(f"{figure:,}".replace(",", separator) for figure in figures)


@dataclass(frozen=True)
class PointsChart:
    """Twelve months of points for the dashboard. The rows the chart repeats for every month
    (its bars, their labels, the table) are written here with ``format_html``: through the
    template's tags and localised filters they were most of the page's cost."""

    bars: list[MonthBar]
    width: int
    height: int
    baseline: float
    bar_width: float
    peak_earned: int
    peak_used: int
    total_earned: int
    total_used: int

    def svg_bars(self) -> SafeString:
        names = month_names()[0]
        separator = formats.get_format("THOUSAND_SEPARATOR")
        title = _("%(month)s: +%(earned)s / −%(used)s, balance %(balance)s")
        return format_html_join(
            "\n",
            "{}",
            ((self._svg_bar(bar, names[bar.month.month], title, separator),) for bar in self.bars),
        )

    def _svg_bar(self, bar: MonthBar, month_name: str, title: str, separator: str) -> SafeString:
        earned = used = ""
        if bar.earned_height:
            earned = format_html(
                '<rect class="earned" x="{}" y="{}" width="{}" height="{}"/>',
                bar.x, bar.earned_y, self.bar_width, bar.earned_height,
            )  # fmt: skip
        if bar.used_height:
            used = format_html(
                '<rect class="used" x="{}" y="{}" width="{}" height="{}"/>',
                bar.x, self.baseline, self.bar_width, bar.used_height,
            )  # fmt: skip
        earned_figure, used_figure, balance_figure = bar.figures(separator)
        words = title % {
            "month": f"{month_name} {bar.month.year}",
            "earned": earned_figure,
            "used": used_figure,
            "balance": balance_figure,
        }
        return format_html(
            '<g><title>{}</title><rect class="hit" x="{}" y="0" width="{}" height="{}"/>{}{}</g>',
            words, bar.x, self.bar_width, self.height, earned, used,
        )  # fmt: skip

    def month_items(self) -> SafeString:
        short = month_names()[1]
        return format_html_join(
            "",
            '<li>{}<span class="wide-only">{}</span></li>',
            ((short[bar.month.month][:1], short[bar.month.month][1:]) for bar in self.bars),
        )

    def table_rows(self) -> SafeString:
        short = month_names()[1]
        separator = formats.get_format("THOUSAND_SEPARATOR")
        return format_html_join(
            "",
            '<tr><td>{} {}</td><td class="num">{}</td><td class="num">{}</td><td class="num">{}</td></tr>',
            ((short[bar.month.month], bar.month.year, *bar.figures(separator)) for bar in self.bars),
        )


def _month_starts(today: date, count: int = 12) -> list[date]:
    months, year, month = [], today.year, today.month
    for _step in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _points_chart(member: Member, months: list[date], per_month: dict[date, tuple[int, int]]) -> PointsChart:
    """Points earned and used per month over the last twelve. The balance at each month's end is
    worked back from today's total."""
    width, height, top, bottom = 600, 160, 6, 6
    slot = width / len(months)
    peak_earned = max([earned for earned, _ in per_month.values()] + [0])
    peak_used = max([used for _, used in per_month.values()] + [0])
    scale_total = (peak_earned + peak_used) or 1
    drawable = height - top - bottom
    baseline = top + drawable * (peak_earned / scale_total if peak_used else 1)
    balance = member.points_available + member.points_pending
    bars: list[MonthBar] = []
    for index in range(len(months) - 1, -1, -1):
        month = months[index]
        earned, used = per_month.get(month, (0, 0))
        earned_height = drawable * earned / scale_total
        bars.append(
            MonthBar(
                month=month,
                earned=earned,
                used=used,
                balance=balance,
                x=round(index * slot + slot * 0.2, 1),
                earned_y=round(baseline - earned_height, 1),
                earned_height=round(earned_height, 1),
                used_height=round(drawable * used / scale_total, 1),
            )
        )
        balance -= earned - used
    bars.reverse()
    return PointsChart(
        bars=bars,
        width=width,
        height=height,
        baseline=round(baseline, 1),
        bar_width=round(slot * 0.6, 1),
        peak_earned=peak_earned,
        peak_used=peak_used,
        total_earned=sum(bar.earned for bar in bars),
        total_used=sum(bar.used for bar in bars),
    )


def _points(value: Decimal | int) -> str:
    return formats.number_format(value, 0, use_l10n=True, force_grouping=True)


@dataclass(frozen=True)
class TierKeep:
    needed: Decimal
    by: datetime
    phrase: str  # "spend $120" or "earn 120 points"


def _keep_as_of(member: Member, *, now: datetime) -> datetime | None:
    """When the tier job will look at the member's tier again, if the dashboard should say what
    keeping it takes."""
    tier, held_until = config.tiers().get(member.tier_id), member.tier_held_until
    if tier is None or held_until is None or tier.threshold <= 0 or held_until <= now:
        return None
    return held_until


def _tier_keep(member: Member, program: Program, value: Decimal | None) -> TierKeep | None:
    """What the member still needs, in the window the tier job will look at when their hold
    ends, to stay on their tier (``value`` is what they have in it so far)."""
    if value is None:
        return None
    needed = max(config.tiers().get(member.tier_id).threshold - value, Decimal("0"))
    if program.tier_metric == Program.TierMetric.POINTS:
        phrase = _("earn %(points)s more points") % {"points": _points(needed)}
    else:
        phrase = _("spend %(amount)s") % {"amount": money(needed, program.currency)}
    return TierKeep(needed=needed, by=member.tier_held_until, phrase=phrase)


@member_required
def dashboard(request: HttpRequest, member: Member) -> HttpResponse:
    now = timezone.now()
    program = config.program()
    months = _month_starts(timezone.localdate(now))
    figures = member_dashboard(
        member, now=now, months_from=months[0], keep_as_of=_keep_as_of(member, now=now)
    )
    progress = figures.progress
    context = {
        "member": member,
        "program": program,
        "progress": progress,
        "needed_phrase": (
            None
            if progress.needed is None
            else (
                _("%(points)s more points") % {"points": _points(progress.needed)}
                if program.tier_metric == Program.TierMetric.POINTS
                else money(progress.needed, program.currency)
            )
        ),
        "keep": _tier_keep(member, program, figures.keep_value),
        "pending": figures.pending,
        # In inactivity mode lots carry no date: the date everything lapses is worked out apart.
        "expiring": (
            member_expiring_points(member, program=program)
            if program.expiry_mode == Program.ExpiryMode.INACTIVITY
            else figures.expiring
        ),
        "expiry_on_inactivity": program.expiry_mode == Program.ExpiryMode.INACTIVITY,
        "recent": [(entry, entry_description(entry)) for entry in figures.recent],
        "chart": _points_chart(member, months, figures.months),
        "point_value": money(max(member.points_available, 0) * program.point_value, program.currency),
        **_plans_context(member, program, now=now),
    }
    return render(request, "members/dashboard.html", context)


def _plans_context(member: Member, program: Program, *, now: datetime) -> dict:
    """The dashboard's paid plan (what it has given against its price) and household."""
    from .households import member_household
    from .memberships import member_plan_summary

    plan = member_plan_summary(member, point_value=program.point_value, now=now)
    return {
        "plan": plan,
        "plan_value": money(plan.extra_value, program.currency) if plan else "",
        "plan_price": money(plan.price, program.currency) if plan else "",
        "household": member_household(member),
    }


@member_required
def history(request: HttpRequest, member: Member) -> HttpResponse:
    entries = LedgerEntry.objects.filter(member=member)
    ledger_filter = LedgerFilter(request.GET or None, queryset=entries)
    table = LedgerTable(ledger_filter.qs if ledger_filter.is_bound and ledger_filter.is_valid() else entries)
    RequestConfig(request, paginate={"per_page": HISTORY_PAGE_SIZE}).configure(table)
    return render(
        request,
        "members/history.html",
        {
            "member": member,
            "filter": ledger_filter,
            "table": table,
            "filtered": any(request.GET.get(name) for name in ledger_filter.filters),
        },
    )


def member_card_svg(member: Member) -> str:
    """The member number as a QR code for the till, drawn on the server as inline SVG."""
    qr = segno.make(member.member_number, error="m")
    return qr.svg_inline(scale=4, border=2, dark="#111827", title="Membership card", omitsize=True)


@never_cache
@member_required
def card(request: HttpRequest, member: Member) -> HttpResponse:
    """The card a partner's till takes: a fresh one-time code as a QR code and as text. The
    page's script counts the code down and loads a new one shortly before it expires."""
    issued = card_token_issue(member=member)
    svg = segno.make(issued.code, error="m").svg_inline(
        scale=8, border=2, dark="#111827", title="Card code", omitsize=True
    )
    return render(
        request,
        "members/card.html",
        {
            "member": member,
            "code": issued.code,
            "expires_at": issued.expires_at,
            "seconds_left": CARD_TOKEN_MINUTES * 60,
            "refresh_after": CARD_TOKEN_MINUTES * 60 - CARD_REFRESH_EARLY_SECONDS,
            "refresh_early": CARD_REFRESH_EARLY_SECONDS,
            # segno draws the SVG from the code (digits, capitals and a dash): nothing to escape.
            "qr": mark_safe(svg),
        },
    )


@member_required
def profile(request: HttpRequest, member: Member) -> HttpResponse:
    form = ProfileForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            member_profile_update(
                member=member,
                actor=request.user,
                first_name=data["first_name"],
                last_name=data["last_name"],
                birth_date=data["birth_date"],
                marketing_opt_in=data["marketing_opt_in"],
                reminder_opt_in=data["reminder_opt_in"],
                leaderboard_opt_in=data["leaderboard_opt_in"],
            )
        except LoyaltyError as error:
            for field, problems in (error.fields or {"__all__": [error.message]}).items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("portal:profile")
    return render(
        request,
        "members/profile.html",
        {"member": member, "form": form, "card": mark_safe(member_card_svg(member))},
    )


@member_required
def export(request: HttpRequest, member: Member) -> HttpResponse:
    """Everything the program keeps about the member, as a zip of JSON and CSV files."""
    now = timezone.now()
    response = HttpResponse(member_export(member=member, now=now), content_type="application/zip")
    filename = f"{slugify(Program.load().name)}-{member.member_number}-{now:%Y%m%d}.zip"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@member_required
def close_account(request: HttpRequest, member: Member) -> HttpResponse:
    """Close the account: the member confirms with their password, then their personal data is
    erased, their points forfeited and their login removed."""
    form = CloseAccountForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        member_erase(member_id=member.pk, actor=None, reason="Closed by the member in the portal")
        logout(request)
        messages.success(request, _("Your account is closed and your personal data erased. Goodbye."))
        return redirect("home")
    return render(request, "members/close_account.html", {"member": member, "form": form})


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language`` (the cookie, back to ``next``), and for a member, their language
    kept for their mail."""
    response = set_language(request)
    member = member_for_user(request.user)
    if member is not None and request.POST.get("language") in dict(settings.LANGUAGES):
        member_language_set(member=member, language=request.POST["language"])
    return response
