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

from members.errors import LoyaltyError
from members.models import Member, Program, Tier
from members.views import member_required, money

from .models import ActionRule, Activity, Campaign
from .services import activity_submit, ways_to_earn

RECENT_SHARES = 10
# Rules the page explains in their own sections (or that a member has had) rather than in the
# list of actions.
NOT_LISTED = (ActionRule.Kind.REFERRAL_REFERRER, ActionRule.Kind.REFERRAL_REFERRED, ActionRule.Kind.SIGNUP)
PERIOD_WORDS = {"day": "a day", "week": "a week", "month": "a month", "year": "a year", "ever": ""}
SHARE_ERRORS = {
    "limit_reached": "You have reached the limit for shares in this period. Thanks for spreading the word!",
    "member_inactive": "Your membership is not active. Please contact us.",
}


class ShareForm(forms.Form):
    url = forms.URLField(
        label="Link to your post",
        max_length=500,
        assume_scheme="https",
        help_text="Paste the address of your public post that mentions us. Our team checks it, "
        "usually within two days.",
        widget=forms.URLInput(attrs={"placeholder": "https://", "inputmode": "url"}),
    )


def limit_words(rule: ActionRule) -> str:
    """ "Once a year", "Up to 3 a month": how often a rule pays."""
    if not rule.limit_count:
        return ""
    period = PERIOD_WORDS.get(rule.limit_period, "")
    count = "Once" if rule.limit_count == 1 else f"Up to {rule.limit_count} times"
    return f"{count} {period}".strip()


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
                messages.info(request, "You already sent us that link.")
            elif outcome.needs_approval:
                messages.success(request, "Thanks! We will check your post and add the points.")
            else:
                messages.success(request, f"Thanks! {outcome.activity.points_awarded} points are yours.")
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
