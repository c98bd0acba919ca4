"""What the core does when allauth verifies or changes an email address, and when a member logs
in."""

from __future__ import annotations

import logging

from allauth.account.signals import email_changed, email_confirmed, user_logged_in
from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase
from django.utils import translation

from .errors import LoyaltyError
from .models import Member
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


@receiver(user_logged_in, dispatch_uid="members.language_on_login")
def apply_language_on_login(
    sender, request: HttpRequest, user, response: HttpResponseBase | None = None, **kwargs
) -> None:
    """The member's own language (``Member.language``, kept by the switcher) follows them to a
    browser that has never seen them: the rest of this request (allauth's "signed in" message)
    and, through the language cookie the switcher sets too, every page after it."""
    language = Member.objects.filter(user=user).values_list("language", flat=True).first()
    if not language or language not in dict(settings.LANGUAGES):
        return
    translation.activate(language)
    request.LANGUAGE_CODE = language
    if response is not None:
        # As Django's set_language sets it.
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
