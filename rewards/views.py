"""The member portal's reward pages: the catalog, one reward with its redeem step, and the
member's vouchers. The member always comes from the session (``member_required``)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

import segno
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from members.errors import LoyaltyError, NotFound
from members.models import Member, Program
from members.views import member_required, money

from .models import Redemption, Reward
from .selectors import RewardOption, member_reward_option, member_reward_options, member_vouchers
from .services import redemption_cancel, reward_redeem


def _date(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "j F Y")


def _number(value: int) -> str:
    return formats.number_format(value, 0, use_l10n=True, force_grouping=True)


TOKEN = re.compile(r"^[0-9a-f]{32}$")
PAST_VOUCHERS_SHOWN = 20

# What the member reads when redeeming fails, by the error's code.
REDEEM_ERRORS = {
    "insufficient_points": gettext_lazy("You do not have enough available points for this reward yet."),
    "out_of_stock": gettext_lazy("Sorry, this reward has just run out."),
    "limit_reached": gettext_lazy("You already hold as many of these as one member may."),
    "reward_unavailable": gettext_lazy("This reward cannot be redeemed right now."),
    "member_inactive": gettext_lazy(
        "Your membership is not active, so it cannot redeem rewards. Please contact us."
    ),
}


def lock_reason(option: RewardOption, member: Member, now: datetime) -> str:
    """Why ``member`` cannot redeem the reward now, in words, with the date or the tier."""
    if not option.reasons:
        return ""
    reward, code = option.reward, option.reasons[0]
    if code == "reward_unavailable":
        if reward.available_from and reward.available_from > now:
            return _("Available from %(date)s") % {"date": _date(reward.available_from)}
        if reward.event_starts_at and reward.event_starts_at <= now:
            return _("This event has already started")
        if reward.available_until and reward.available_until <= now:
            return _("Ended on %(date)s") % {"date": _date(reward.available_until)}
        return _("Not available right now")
    if code == "tier_required":
        return _("For %(tier)s members and above") % {"tier": reward.min_tier.name}
    if code == "plan_required":
        return _("For %(plan)s members") % {"plan": reward.members_of_plan.name}
    if code == "out_of_stock":
        return _("Out of stock")
    if code == "limit_reached":
        return _("You already hold %(count)s (the limit per member)") % {"count": option.held}
    if code == "insufficient_points":
        return _("%(points)s more points needed") % {"points": _number(option.points_short)}
    return option.reason


def _catalog_rewards(now: datetime):
    # Rewards whose window has ended are gone from the catalog; upcoming ones show when they open.
    return Reward.objects.active().exclude(available_until__lte=now).catalog_order()


@member_required
def catalog(request: HttpRequest, member: Member) -> HttpResponse:
    now = timezone.now()
    options = member_reward_options(member, on=now, rewards=_catalog_rewards(now))
    categories = sorted({option.reward.category for option in options if option.reward.category})
    category = request.GET.get("category", "")
    affordable = request.GET.get("affordable") == "1"
    shown = [
        option
        for option in options
        if (not category or option.reward.category == category)
        and (not affordable or not option.points_short)
    ]
    return render(
        request,
        "rewards/catalog.html",
        {
            "member": member,
            "categories": categories,
            "category": category,
            "affordable": affordable,
            "rewards": [(option, lock_reason(option, member, now)) for option in shown],
            "total": len(options),
        },
    )


@member_required
def detail(request: HttpRequest, member: Member, code: str) -> HttpResponse:
    now = timezone.now()
    option = member_reward_option(member, code, on=now)
    if option is None:
        raise Http404("No such reward.")
    error = ""
    if request.method == "POST":
        token = request.POST.get("token", "")
        if not TOKEN.match(token):
            error = _("That form was out of date. Please check the details and confirm again.")
        else:
            try:
                redeemed = reward_redeem(
                    member_id=member.pk,
                    reward_code=option.reward.code,
                    created_by=request.user,
                    idempotency_key=f"portal:{member.pk}:{token}",
                    now=now,
                )
            except NotFound:
                raise Http404("No such reward.") from None
            except LoyaltyError as failure:
                error = REDEEM_ERRORS.get(failure.code, failure.message)
            else:
                redemption = redeemed.redemption
                messages.success(
                    request,
                    _("Done! %(points)s points spent on %(reward)s. Your voucher code is %(code)s.")
                    % {
                        "points": _number(redemption.points_spent),
                        "reward": option.reward.name,
                        "code": redemption.voucher_code,
                    },
                )
                return redirect(f"{reverse('rewards:vouchers')}#voucher-{redemption.pk}")
        # Show the state after the attempt (stock or balance may have moved).
        member.refresh_from_db(fields=["points_available", "points_pending"])
        option = member_reward_option(member, code, on=now) or option
    confirming = request.method == "GET" and request.GET.get("confirm") == "1" and option.can_redeem
    program = Program.load()
    return render(
        request,
        "rewards/detail.html",
        {
            "member": member,
            "option": option,
            "reward": option.reward,
            "reason": lock_reason(option, member, now),
            "error": error,
            "confirming": confirming,
            "token": uuid.uuid4().hex,
            "balance_after": member.points_available - option.price,
            "cash_value": money(option.reward.cash_value, program.currency)
            if option.reward.cash_value
            else "",
        },
    )


def _qr_svg(code: str) -> str:
    """The voucher code as a QR code, inline SVG drawn on the server (no script, no request)."""
    qr = segno.make(code, error="m")
    return qr.svg_inline(
        scale=4, border=2, dark="#111827", light="#ffffff", title=f"Voucher {code}", omitsize=True
    )


@member_required
def vouchers(request: HttpRequest, member: Member) -> HttpResponse:
    now = timezone.now()
    current, past = [], []
    for redemption in member_vouchers(member)[: PAST_VOUCHERS_SHOWN + 50]:
        usable = redemption.status == Redemption.Status.ISSUED and redemption.expires_at > now
        if usable:
            # segno draws the SVG from the code (letters, digits, dashes): nothing to escape.
            current.append((redemption, mark_safe(_qr_svg(redemption.voucher_code))))
        elif len(past) < PAST_VOUCHERS_SHOWN:
            past.append(redemption)
    return render(
        request,
        "rewards/vouchers.html",
        {
            "member": member,
            "current": current,
            "past": past,
            "soon": now + timedelta(days=7),
        },
    )


@member_required
@require_POST
def voucher_cancel(request: HttpRequest, member: Member, redemption_id: int) -> HttpResponse:
    """Give back an unused voucher: its points return with their original expiry."""
    redemption = Redemption.objects.filter(pk=redemption_id, member=member).select_related("reward").first()
    if redemption is None:
        raise Http404("No such voucher.")
    try:
        redemption_cancel(redemption_id=redemption.pk, actor=request.user, reason="cancelled by the member")
    except LoyaltyError as failure:
        messages.error(request, _("This voucher cannot be cancelled: %(why)s") % {"why": failure.message})
    else:
        messages.success(
            request,
            _("Cancelled. %(points)s points are back in your balance.")
            % {"points": _number(redemption.points_spent)},
        )
    return redirect("rewards:vouchers")
