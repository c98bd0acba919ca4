"""The redemption confirmation: subject and message in templates/rewards/email/."""

from __future__ import annotations

from members.mail import mail_render

from .models import Redemption


def redemption_confirmation_send(*, redemption_id: int) -> bool:
    """Mail the member their voucher code. False when the redemption is gone or was cancelled
    before the mail went out."""
    redemption = Redemption.objects.select_related("reward", "member").filter(pk=redemption_id).first()
    if redemption is None or redemption.status == Redemption.Status.CANCELLED:
        return False
    member = redemption.member
    context = {"redemption": redemption, "reward": redemption.reward, "member": member}
    mail_render(
        "rewards/email/redemption_confirmation", context, [member.email], language=member.language
    ).send()
    return True
