"""Mail to members when a challenge completes or a badge is earned."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.utils import translation

from .models import ChallengeCompletion, MemberBadge


def _message(name: str, context: dict, to: str) -> EmailMessage:
    context = {**context, "site_url": settings.LOYALTY_SITE_URL.rstrip("/")}
    with translation.override(context["member"].language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"campaigns/email/{name}_subject.txt", context).strip()
        body = render_to_string(f"campaigns/email/{name}_message.txt", context)
    return EmailMessage(subject, body, to=[to])


def engagement_notify(*, completion_ids: list[int], badge_ids: list[int]) -> int:
    completions = ChallengeCompletion.objects.filter(
        pk__in=completion_ids, reversed_at__isnull=True
    ).select_related("member", "challenge")
    badges = MemberBadge.objects.filter(pk__in=badge_ids, source__in=["milestone", "staff"]).select_related(
        "member", "badge"
    )
    messages = [
        _message("challenge_completed", {"completion": c, "member": c.member}, c.member.email)
        for c in completions
    ] + [_message("badge_earned", {"member_badge": b, "member": b.member}, b.member.email) for b in badges]
    if not messages:
        return 0
    return get_connection().send_messages(messages) or 0
