"""Engagement figures for the staff portal, each a fixed few aggregate queries:

- per challenge: participants (members with any progress or a completion) and completions
  (live, not undone by a refund), and the completion rate;
- badges: how many members hold each;
- engaged members by month: members with challenge activity (progress moved or a completion)
  or an event (RSVP or check-in) in the 90 days up to the end of that month. Progress rows keep
  only their latest move, so an older month counts a member whose progress moved since then only
  through a completion or an event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import segno
from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from campaigns.models import Badge, Challenge, ChallengeCompletion, ChallengeProgress, EventCheckIn, EventRsvp

from .reports import month_start, ratio

ENGAGED_DAYS = 90
MONTHS = 6


@dataclass(frozen=True)
class ChallengeFigures:
    code: str
    name: str
    participants: int
    completions: int

    @property
    def completion_rate(self):
        return ratio(self.completions, self.participants)


@dataclass(frozen=True)
class EngagementFigures:
    challenges: list[ChallengeFigures]
    badges: list[tuple[str, str, int]]
    engaged: list[tuple[datetime, int]]


def engagement_figures(*, as_of: datetime, months: int = MONTHS) -> EngagementFigures:
    live = Q(completions__reversed_at__isnull=True) & Q(completions__isnull=False)
    completions = dict(Challenge.objects.annotate(n=Count("completions", filter=live)).values_list("pk", "n"))
    rows = Challenge.objects.annotate(
        participants=Count(
            "progress_rows", filter=Q(progress_rows__progress__gt=0) | Q(progress_rows__completions__gt=0)
        )
    ).order_by("position", "pk")
    challenges = [ChallengeFigures(c.code, c.name, c.participants, completions.get(c.pk, 0)) for c in rows]
    badges = list(
        Badge.objects.annotate(n=Count("holders")).order_by("position", "pk").values_list("code", "name", "n")
    )
    engaged = []
    for back in range(months - 1, -1, -1):
        start = month_start(as_of, back)
        end = min(month_start(as_of, back - 1) if back else as_of, as_of)
        since = end - timedelta(days=ENGAGED_DAYS)
        # .order_by(): no part of a UNION may carry its model's default ordering (SQLite refuses it).
        members = (
            ChallengeProgress.objects.filter(updated_at__gte=since, updated_at__lt=end)
            .values("member_id")
            .order_by()
            .union(
                ChallengeCompletion.objects.filter(created_at__gte=since, created_at__lt=end)
                .values("member_id")
                .order_by(),
                EventCheckIn.objects.filter(created_at__gte=since, created_at__lt=end)
                .values("member_id")
                .order_by(),
                EventRsvp.objects.filter(created_at__gte=since, created_at__lt=end)
                .values("member_id")
                .order_by(),
            )
        )
        engaged.append((start, members.count()))
    return EngagementFigures(challenges, badges, engaged)


@dataclass(frozen=True)
class CheckInPoster:
    """What staff print for an event's door: its check-in address and the same as a QR code."""

    event: object
    url: str
    qr: SafeString


def check_in_posters(events) -> list[CheckInPoster]:
    """A member who scans the poster opens the event's check-in page in the portal (logged in,
    they check in; the link carries the event's secret, so only those at the door have it)."""
    posters = []
    for event in events:
        url = settings.LOYALTY_SITE_URL.rstrip("/") + reverse(
            "engagement:check_in", args=[event.code, event.check_in_secret]
        )
        svg = segno.make(url, error="m").svg_inline(
            scale=4, border=2, title=_("Check-in code"), omitsize=True
        )
        # segno draws path data only (the fixed title aside): nothing of the URL is written as text.
        posters.append(CheckInPoster(event, url, mark_safe(svg)))
    return posters
