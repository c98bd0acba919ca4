"""The redemption confirmation: subject and body in templates/rewards/email/."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from members.models import Program

from .models import Redemption


def redemption_confirmation_send(*, redemption_id: int) -> bool:
    """Mail the member their voucher code. False when the redemption is gone or was cancelled
    before the mail went out."""
    redemption = Redemption.objects.select_related("reward", "member").filter(pk=redemption_id).first()
    if redemption is None or redemption.status == Redemption.Status.CANCELLED:
        return False
    context = {
        "redemption": redemption,
        "reward": redemption.reward,
        "member": redemption.member,
        "program": Program.load(),
        "site_url": settings.LOYALTY_SITE_URL,
    }
    subject = " ".join(render_to_string("rewards/email/redemption_confirmation_subject.txt", context).split())
    body = render_to_string("rewards/email/redemption_confirmation_body.txt", context)
    send_mail(subject, body, None, [redemption.member.email])
    return True
