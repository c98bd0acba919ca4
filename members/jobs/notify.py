"""Mail the jobs send after they commit: tier moves, expiry reminders, a failed ledger check.
Each function takes ids, loads what it needs in a fixed number of queries and sends in one
connection."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import ExpiryReminder, JobRun, TierChange, User


def _message(template: str, context: dict, to: list[str]) -> EmailMessage:
    context = {**context, "site_url": settings.LOYALTY_SITE_URL}
    subject = " ".join(render_to_string(f"members/email/{template}_subject.txt", context).split())
    body = render_to_string(f"members/email/{template}_message.txt", context)
    return EmailMessage(subject=subject, body=body, to=to)


def tier_changes_notify(*, change_ids: list[int]) -> int:
    """Tell each member their tier moved; returns how many mails were sent."""
    changes = TierChange.objects.filter(pk__in=change_ids).select_related("member", "from_tier", "to_tier")
    messages = []
    for change in changes:
        upgraded = change.from_tier is None or change.to_tier.rank > change.from_tier.rank
        context = {"change": change, "member": change.member, "upgraded": upgraded}
        messages.append(_message("tier_changed", context, [change.member.email]))
    if not messages:
        return 0
    return get_connection().send_messages(messages) or 0


def expiry_reminders_notify(*, reminder_ids: list[int]) -> int:
    """Mail the reminders not yet sent and mark them sent; returns how many were sent."""
    reminders = list(
        ExpiryReminder.objects.filter(pk__in=reminder_ids, sent_at__isnull=True).select_related("member")
    )
    messages = [
        _message("expiry_reminder", {"reminder": r, "member": r.member}, [r.member.email]) for r in reminders
    ]
    if not messages:
        return 0
    sent = get_connection().send_messages(messages) or 0
    ExpiryReminder.objects.filter(pk__in=[r.pk for r in reminders]).update(sent_at=timezone.now())
    return sent


def ledger_check_failed_notify(*, run_id: int) -> int:
    """Tell every active staff user the ledger check found violations."""
    run = JobRun.objects.get(pk=run_id)
    staff = list(User.objects.filter(is_staff=True, is_active=True).values_list("email", flat=True))
    if not staff:
        return 0
    return get_connection().send_messages([_message("ledger_check_failed", {"run": run}, staff)]) or 0
