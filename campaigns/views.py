"""The member portal's "ways to earn" page: the earning rules as configured, the member's
referral link, and the social-share submission with its review status."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from members.errors import LoyaltyError
from members.models import Member, Program, Tier
from members.views import member_required, money

from .models import ActionRule, Activity, Campaign
from .services import activity_submit, ways_to_earn

RECENT_SHARES = 10
# Rules the page explains in their own sections (or that a member has had) rather than in the
# list of actions.
NOT_LISTED = (ActionRule.Kind.REFERRAL_REFERRER, ActionRule.Kind.REFERRAL_REFERRED, ActionRule.Kind.SIGNUP)
SHARE_ERRORS = {
    "limit_reached": gettext_lazy(
        "You have reached the limit for shares in this period. Thanks for spreading the word!"
    ),
    "member_inactive": gettext_lazy("Your membership is not active. Please contact us."),
}


class ShareForm(forms.Form):
    url = forms.URLField(
        label=gettext_lazy("Link to your post"),
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy(
            "Paste the address of your public post that mentions us. "
            "Our team checks it, usually within two days."
        ),
        widget=forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url"}),
    )


def limit_words(rule: ActionRule) -> str:
    """ "Once a year", "Up to 3 a month": how often a rule pays."""
    if not rule.limit_count:
        return ""
    count = rule.limit_count
    words = {
        "day": ngettext("Once a day", "Up to %(count)s times a day", count),
        "week": ngettext("Once a week", "Up to %(count)s times a week", count),
        "month": ngettext("Once a month", "Up to %(count)s times a month", count),
        "year": ngettext("Once a year", "Up to %(count)s times a year", count),
    }
    phrase = words.get(rule.limit_period) or ngettext("Once", "Up to %(count)s times", count)
    return phrase % {"count": count}


def referral_link(member: Member) -> str:
    base = settings.LOYALTY_SITE_URL.rstrip("/")
    return f"{base}{reverse('account_signup')}?{urlencode({'ref': member.referral_code})}"


@member_required
def earn(request: HttpRequest, member: Member) -> HttpResponse:
    form = ShareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        url = form.cleaned_data["url"]
        try:
            outcome = activity_submit(
                member=member,
                kind=ActionRule.Kind.SOCIAL_SHARE,
                # One submission per member and link: sending the same link again is a replay.
                external_id=f"share:{member.pk}:{hashlib.sha256(url.encode()).hexdigest()[:32]}",
                url=url,
            )
        except LoyaltyError as error:
            message = SHARE_ERRORS.get(error.code, error.message)
            form.add_error("url" if error.fields and "url" in error.fields else None, message)
        else:
            if not outcome.created:
                messages.info(request, _("You already sent us that link."))
            elif outcome.needs_approval:
                messages.success(request, _("Thanks! We will check your post and add the points."))
            else:
                messages.success(
                    request,
                    _("Thanks! %(points)s points are yours.") % {"points": outcome.activity.points_awarded},
                )
            return redirect(f"{reverse('earn:index')}#share")

    now = timezone.now()
    rules = ways_to_earn()
    by_kind = {rule.kind: rule for rule in rules}
    referrals = Member.objects.filter(referred_by=member).aggregate(
        joined=Count("pk"), rewarded=Count("pk", filter=Q(referral__status="rewarded"))
    )
    shares = list(
        Activity.objects.filter(member=member, rule__kind=ActionRule.Kind.SOCIAL_SHARE).order_by(
            "-created_at", "-id"
        )[:RECENT_SHARES]
    )
    program = Program.load()
    tiers = list(Tier.objects.order_by("rank"))
    return render(
        request,
        "campaigns/earn.html",
        {
            "member": member,
            "program": program,
            "tiers": tiers,
            "actions": [(rule, limit_words(rule)) for rule in rules if rule.kind not in NOT_LISTED],
            "per_unit": money(Decimal("1"), program.currency),
            "referrer_rule": by_kind.get(ActionRule.Kind.REFERRAL_REFERRER),
            "referred_rule": by_kind.get(ActionRule.Kind.REFERRAL_REFERRED),
            "share_rule": by_kind.get(ActionRule.Kind.SOCIAL_SHARE),
            "campaigns": list(
                Campaign.objects.running(at=now)
                .filter(Q(tiers__isnull=True) | Q(tiers=member.tier_id))
                .distinct()
                .order_by("ends_at")[:6]
            ),
            "referral_link": referral_link(member),
            "referrals": referrals,
            "shares": shares,
            "form": form,
        },
    )
