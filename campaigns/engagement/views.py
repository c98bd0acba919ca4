"""Member portal pages of engagement: challenges (with badges and the streak), community events
with RSVP and the check-in a member makes by scanning an event's code, and the opt-in
leaderboard. Thin: each calls a selector or one service."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from members.errors import LoyaltyError
from members.models import Member
from members.views import member_required

from .events import event_check_in, event_rsvp, event_rsvp_cancel
from .leaderboard import leaderboard, leaderboard_join, leaderboard_leave
from .models import EngagementProfile, Event, EventCheckIn, EventRsvp
from .selectors import member_engagement

EVENT_ERRORS = {
    "event_full": gettext_lazy("Sorry, the event is full."),
    "event_closed": gettext_lazy("That is not open right now."),
}


@member_required
def challenges(request: HttpRequest, member: Member) -> HttpResponse:
    engagement = member_engagement(member)
    return render(request, "campaigns/challenges.html", {"member": member, "engagement": engagement})


@member_required
def events(request: HttpRequest, member: Member) -> HttpResponse:
    now = timezone.now()
    upcoming = list(
        Event.objects.filter(is_active=True, ends_at__gt=now)
        .annotate(
            going=Exists(EventRsvp.objects.filter(event=OuterRef("pk"), member=member)),
            checked_in=Exists(EventCheckIn.objects.filter(event=OuterRef("pk"), member=member)),
        )
        .order_by("starts_at")[:20]
    )
    return render(request, "campaigns/events.html", {"member": member, "events": upcoming})


@member_required
@require_POST
def rsvp(request: HttpRequest, member: Member, code: str) -> HttpResponse:
    try:
        if request.POST.get("cancel"):
            if event_rsvp_cancel(member=member, event_code=code):
                messages.info(request, _("Your seat is released."))
        else:
            created = event_rsvp(member=member, event_code=code)[1]
            if created:
                messages.success(request, _("You are going. See you there!"))
    except LoyaltyError as error:
        messages.error(request, EVENT_ERRORS.get(error.code, error.message))
    return redirect("engagement:events")


@member_required
def check_in(request: HttpRequest, member: Member, code: str, secret: str) -> HttpResponse:
    """What the event's QR code opens: a confirmation, then the check-in."""
    event = get_object_or_404(Event, code=code, is_active=True, check_in_secret=secret)
    if request.method == "POST":
        try:
            outcome = event_check_in(event_code=code, member=member, secret=secret)
        except LoyaltyError as error:
            messages.error(request, EVENT_ERRORS.get(error.code, error.message))
        else:
            if outcome.created:
                points = outcome.check_in.points
                messages.success(
                    request,
                    ngettext(
                        "Welcome to %(event)s! %(points)s point is yours.",
                        "Welcome to %(event)s! %(points)s points are yours.",
                        points,
                    )
                    % {"event": event.name, "points": points},
                )
            else:
                messages.info(request, _("You are already checked in."))
            return redirect("engagement:events")
    return render(request, "campaigns/check_in.html", {"event": event})


class LeaderboardForm(forms.Form):
    nickname = forms.RegexField(
        regex=r"^[A-Za-z0-9_.-]{3,30}$",
        label=gettext_lazy("Nickname"),
        help_text=gettext_lazy("3 to 30 letters, digits, dots, dashes or underscores. Only this is shown."),
        error_messages={"invalid": gettext_lazy("Use 3 to 30 letters, digits, dots, dashes or underscores.")},
    )


@member_required
def leaderboard_page(request: HttpRequest, member: Member) -> HttpResponse:
    profile = EngagementProfile.objects.filter(member=member).first()
    form = LeaderboardForm(request.POST or None, initial={"nickname": profile.nickname if profile else ""})
    if request.method == "POST":
        if request.POST.get("leave"):
            leaderboard_leave(member=member)
            messages.info(request, _("You have left the leaderboard."))
            return redirect("engagement:leaderboard")
        if form.is_valid():
            try:
                leaderboard_join(member=member, nickname=form.cleaned_data["nickname"])
            except LoyaltyError as error:
                form.add_error("nickname", error.message)
            else:
                messages.success(request, _("You are on the leaderboard."))
                return redirect("engagement:leaderboard")
    board = leaderboard(now=timezone.now())
    return render(
        request,
        "campaigns/leaderboard.html",
        {"board": board, "profile": profile, "form": form, "member": member},
    )
