"""What the core does when allauth verifies or changes an email address."""

from __future__ import annotations

import logging

from allauth.account.signals import email_changed, email_confirmed
from django.conf import settings
from django.dispatch import receiver
from django.utils import translation

from .errors import LoyaltyError
from .services import member_claim_for_user, member_email_change, member_language_set

logger = logging.getLogger(__name__)


@receiver(email_confirmed, dispatch_uid="members.claim_on_email_confirmed")
def claim_member_on_email_confirmed(sender, request, email_address, **kwargs) -> None:
    """A verified sign-up becomes a member: the one a store enrolled with that email, or a
    new one. Staff logins do not become members by confirming their address."""
    user = email_address.user
    if user.is_staff or email_address.email.lower() != user.email.lower():
        return
    try:
        member = member_claim_for_user(user=user)
    except LoyaltyError:
        # The portal explains a login without a member; the verification itself stands.
        logger.warning("could not claim a member for user %s", user.pk, exc_info=True)
        return
    # The language they joined in is the one we write to them in, until they pick another.
    language = translation.get_language()
    if not member.language and language in dict(settings.LANGUAGES):
        member_language_set(member=member, language=language)


@receiver(email_changed, dispatch_uid="members.follow_email_change")
def follow_email_change(sender, request, user, from_email_address, to_email_address, **kwargs) -> None:
    try:
        member_email_change(user=user, email=to_email_address.email)
    except LoyaltyError:
        logger.warning("member of user %s keeps its email address", user.pk, exc_info=True)
