"""Mail the jobs send after they commit: tier moves, expiry reminders, a failed ledger check.
Each function takes ids, loads what it needs in a fixed number of queries and sends in one
connection."""

from __future__ import annotations

from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils import timezone

from ..mail import mail_render
from ..models import ExpiryReminder, JobRun, Program, TierChange, User


def _message(
    template: str,
    context: dict,
    to: list[str],
    *,
    language: str | None = None,
    program: Program | None = None,
) -> EmailMultiAlternatives:
    return mail_render(f"members/email/{template}", context, to, language=language, program=program)


def tier_changes_notify(*, change_ids: list[int]) -> int:
    """Tell each member their tier moved; returns how many mails were sent."""
    changes = TierChange.objects.filter(pk__in=change_ids).select_related("member", "from_tier", "to_tier")
    messages = []
    program = Program.load()
    for change in changes:
        member = change.member
        if member.status == member.Status.ERASED:
            continue
        upgraded = change.from_tier is None or change.to_tier.rank > change.from_tier.rank
        context = {"change": change, "member": member, "upgraded": upgraded}
        messages.append(
            _message("tier_changed", context, [member.email], language=member.language, program=program)
        )
    if not messages:
        return 0
    return get_connection().send_messages(messages) or 0


def expiry_reminders_notify(*, reminder_ids: list[int]) -> int:
    """Mail the reminders not yet sent and mark them sent; returns how many were sent."""
    reminders = list(
        ExpiryReminder.objects.filter(pk__in=reminder_ids, sent_at__isnull=True).select_related("member")
    )
    program = Program.load()
    messages = [
        _message(
            "expiry_reminder",
            {"reminder": r, "member": r.member},
            [r.member.email],
            language=r.member.language,
            program=program,
        )
        for r in reminders
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
