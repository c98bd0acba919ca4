"""Points one member sends another, and the staff reversal of a transfer.

A transfer is one ``Transfer`` row and the ledger entries of
``members.ledger.services.points_transfer``, written in one transaction with both members
locked in one statement, in id order. The sender's points keep their expiry on the receiver's
side. What one member may send in a calendar month is ``Program.transfer_monthly_limit``; the
limit is checked under the sender's lock, so two transfers at once cannot both squeeze under it.

A reversal (staff, in admin) takes the points back in full: from the lots the transfer opened
first, then from the receiver's other points, and what the receiver has already spent is left
as a recorded negative balance that their next points pay off (as a refund of spent points
does). The sender gets the points back into the very lots they left, with their expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .audit import audit_record
from .errors import Conflict, IdempotencyConflict, InvalidPoints, InvalidRequest, NotFound
from .formats import whole_number_lazy
from .ledger.services import points_restore, points_reverse, points_transfer
from .locks import lock_member, lock_row
from .models import LedgerEntry, Member, Program, Transfer, User


class RecipientNotFound(NotFound):
    default_message = _("No member has that member number and surname.")


class TransferLimitReached(Conflict):
    code = "transfer_limit_reached"
    default_message = _("That is more than you may still send this month.")


class TransferNotFound(NotFound):
    default_message = _("No such transfer.")


@dataclass(frozen=True)
class TransferOutcome:
    transfer: Transfer
    created: bool


def month_start(moment: datetime) -> datetime:
    local = timezone.localtime(moment)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def transfer_recipient_find(*, member_number: str, last_name: str) -> Member:
    """The member with that number whose surname matches (any letter case), or
    ``RecipientNotFound``: both must match, so a typo never sends points to a stranger."""
    member_number = (member_number or "").strip()
    last_name = (last_name or "").strip()
    if not member_number or not last_name or len(member_number) > 20 or "\x00" in member_number + last_name:
        raise RecipientNotFound()
    member = (
        Member.objects.filter(member_number=member_number, last_name__iexact=last_name)
        .exclude(status=Member.Status.CLOSED)
        .first()
    )
    if member is None:
        raise RecipientNotFound()
    return member


def transfer_sent_this_month(*, member_id: int, now: datetime | None = None) -> int:
    """Points the member sent this calendar month (reversed transfers do not count)."""
    now = now or timezone.now()
    return (
        Transfer.objects.filter(
            sender_id=member_id, created_at__gte=month_start(now), reversed_at__isnull=True
        ).aggregate(total=Sum("points"))["total"]
        or 0
    )


def transfer_send(
    *,
    sender_id: int,
    recipient_id: int,
    points: int,
    idempotency_key: str,
    message: str = "",
    actor: User | None = None,
    notify: bool = True,
    now: datetime | None = None,
) -> TransferOutcome:
    """Send ``points`` of the sender's available balance to the recipient, once per
    ``idempotency_key`` (a replay answers the first transfer; the same key for another transfer
    is ``IdempotencyConflict``). Past the monthly limit: ``TransferLimitReached``; too few
    points: ``InsufficientPoints``. The recipient is mailed after the commit."""
    if not isinstance(points, int) or isinstance(points, bool) or points <= 0:
        raise InvalidPoints(fields={"points": ["A whole number above zero."]})
    if not isinstance(idempotency_key, str) or not idempotency_key.strip() or len(idempotency_key) > 120:
        raise InvalidRequest(fields={"idempotency_key": ["Required, at most 120 characters."]})
    if sender_id == recipient_id:
        raise InvalidRequest(
            _("You cannot send points to yourself."), fields={"recipient": [_("Another member.")]}
        )
    now = now or timezone.now()
    message = (message or "").strip()[:140]
    with transaction.atomic():
        sender = lock_member(sender_id, also=recipient_id)
        existing = Transfer.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if (existing.sender_id, existing.recipient_id, existing.points) != (
                sender_id,
                recipient_id,
                points,
            ):
                raise IdempotencyConflict()
            return TransferOutcome(existing, created=False)
        limit = Program.load().transfer_monthly_limit
        sent = transfer_sent_this_month(member_id=sender.pk, now=now)
        if sent + points > limit:
            refusal = format_lazy(
                _("You may send {limit} points a month; {left} are left this month."),
                limit=whole_number_lazy(limit),
                left=whole_number_lazy(max(limit - sent, 0)),
            )
            raise TransferLimitReached(refusal, fields={"points": [refusal]})
        recipient = Member.objects.only("first_name", "last_name", "member_number").get(pk=recipient_id)
        transfer = Transfer.objects.create(
            sender=sender,
            recipient_id=recipient_id,
            points=points,
            message=message,
            idempotency_key=idempotency_key,
            created_at=now,
        )
        points_transfer(
            sender_id=sender.pk,
            recipient_id=recipient_id,
            points=points,
            idempotency_key=f"transfer:{transfer.pk}",
            source_id=str(transfer.pk),
            description_out=f"Sent to {recipient.full_name} ({recipient.member_number})"[:255],
            description_in=f"From {sender.first_name} {sender.last_name[:1]}".strip()[:255],
            now=now,
        )
        audit_record(
            actor=actor,
            action="points_transferred",
            member_id=sender.pk,
            details={"transfer": transfer.pk, "recipient": recipient_id, "points": points},
        )
        if notify:
            from .tasks import transfer_received_notify_task

            transfer_id = transfer.pk
            transaction.on_commit(lambda: transfer_received_notify_task.delay(transfer_id), robust=True)
        return TransferOutcome(transfer, created=True)


def transfer_reverse(
    *, transfer_id: int, staff_user: User, reason: str, now: datetime | None = None
) -> Transfer:
    """Staff take a transfer back: the receiver's credits are reversed in full (a recorded
    negative balance for what they already spent), the sender's points return to the lots they
    left. Audited. Reversing again answers the reversed transfer."""
    if staff_user is None or not staff_user.is_staff:
        raise InvalidRequest("Only staff can reverse a transfer.")
    if not (reason or "").strip():
        raise InvalidRequest("A reversal needs a reason.", fields={"reason": ["Required."]})
    now = now or timezone.now()
    row = Transfer.objects.filter(pk=transfer_id).values_list("sender_id", "recipient_id").first()
    if row is None:
        raise TransferNotFound()
    sender_id, recipient_id = row
    with transaction.atomic():
        lock_member(sender_id, also=recipient_id)
        transfer = lock_row(Transfer.objects.filter(pk=transfer_id))
        if transfer.reversed_at is not None:
            return transfer
        common = {"source_type": LedgerEntry.Source.TRANSFER, "source_id": str(transfer.pk), "now": now}
        points_reverse(
            member_id=recipient_id,
            idempotency_key=f"transfer:{transfer.pk}:reverse:in",
            description=f"Transfer {transfer.pk} reversed by staff"[:255],
            **common,
        )
        points_restore(
            member_id=sender_id,
            idempotency_key=f"transfer:{transfer.pk}:reverse:out",
            description=f"Transfer {transfer.pk} reversed by staff: points returned"[:255],
            **common,
        )
        transfer.reversed_at = now
        transfer.reversed_by = staff_user
        transfer.reversal_reason = reason.strip()[:255]
        transfer.save(update_fields=["reversed_at", "reversed_by", "reversal_reason"])
        audit_record(
            actor=staff_user,
            action="transfer_reversed",
            member_id=sender_id,
            details={
                "transfer": transfer.pk,
                "recipient": recipient_id,
                "points": transfer.points,
                "reason": reason,
            },
        )
        return transfer


def transfer_received_notify(*, transfer_id: int) -> bool:
    """Mail the recipient of a transfer (not reversed in the meantime)."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.template.loader import render_to_string
    from django.utils import translation

    transfer = (
        Transfer.objects.select_related("sender", "recipient")
        .filter(pk=transfer_id, reversed_at=None)
        .first()
    )
    if transfer is None:
        return False
    context = {"transfer": transfer, "program": Program.load(), "site_url": settings.LOYALTY_SITE_URL}
    with translation.override(transfer.recipient.language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string("members/email/transfer_received_subject.txt", context).split())
        body = render_to_string("members/email/transfer_received_message.txt", context)
    send_mail(subject, body, None, [transfer.recipient.email])
    return True
