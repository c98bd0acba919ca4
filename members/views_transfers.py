"""The portal's transfer pages: a form, a confirmation step, and the send. Thin: the form
parses, ``members.transfers`` decides and writes."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .errors import LoyaltyError
from .formats import whole_number
from .forms_transfers import TransferConfirmForm, TransferForm
from .models import Member, Program
from .transfers import transfer_recipient_find, transfer_send, transfer_sent_this_month
from .views import member_required


def _limits(member: Member) -> dict:
    limit = Program.load().transfer_monthly_limit
    sent = transfer_sent_this_month(member_id=member.pk)
    return {"limit": limit, "sent": sent, "left": max(limit - sent, 0)}


def _form_errors(form: TransferForm, error: LoyaltyError) -> None:
    for field, problems in (error.fields or {"__all__": [error.message]}).items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


@member_required
def transfer(request: HttpRequest, member: Member) -> HttpResponse:
    """Step 1: the form; a valid one shows the confirmation, with the recipient's name."""
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            recipient = transfer_recipient_find(
                member_number=data["member_number"], last_name=data["last_name"]
            )
            if recipient.pk == member.pk:
                yourself = _("You cannot send points to yourself.")
                raise LoyaltyError(yourself, fields={"member_number": [yourself]})
        except LoyaltyError as error:
            _form_errors(form, error)
        else:
            confirm = TransferConfirmForm(initial={**data, "token": secrets.token_urlsafe(16)})
            return render(
                request,
                "members/transfer_confirm.html",
                {
                    "member": member,
                    "recipient": recipient,
                    "data": data,
                    "form": confirm,
                    "balance_after": member.points_available - data["points"],
                },
            )
    return render(request, "members/transfer.html", {"member": member, "form": form, **_limits(member)})


@require_POST
@member_required
def transfer_confirm(request: HttpRequest, member: Member) -> HttpResponse:
    """Step 2: send, once per confirmation (its token is the idempotency key)."""
    form = TransferConfirmForm(request.POST)
    if not form.is_valid():
        return redirect("portal:transfer")
    data = form.cleaned_data
    try:
        recipient = transfer_recipient_find(member_number=data["member_number"], last_name=data["last_name"])
        outcome = transfer_send(
            sender_id=member.pk,
            recipient_id=recipient.pk,
            points=data["points"],
            message=data["message"],
            idempotency_key=f"portal:{member.pk}:{data['token']}",
            actor=request.user,
        )
    except LoyaltyError as error:
        retry = TransferForm(data)
        retry.is_valid()
        _form_errors(retry, error)
        return render(request, "members/transfer.html", {"member": member, "form": retry, **_limits(member)})
    points = outcome.transfer.points
    messages.success(
        request,
        ngettext("You sent %(points)s point to %(name)s.", "You sent %(points)s points to %(name)s.", points)
        % {"points": whole_number(points), "name": f"{recipient.first_name} {recipient.last_name[:1]}"},
    )
    return redirect("portal:dashboard")
