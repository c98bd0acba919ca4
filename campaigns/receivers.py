"""Reactions to the core's signals."""

import logging

from django.db import DatabaseError
from django.dispatch import receiver

from members.errors import LoyaltyError
from members.signals import member_enrolled

logger = logging.getLogger(__name__)


@receiver(member_enrolled, dispatch_uid="campaigns.signup_bonus")
def award_signup_bonus(sender, member_id: int, channel: str = "", **kwargs) -> None:
    # Sent after the enrolment committed: the bonus is its own transaction, and a failure here
    # must not turn the enrolment's answer into an error (the credit is idempotent: a later
    # call with the same key pays it once).
    from .services import signup_bonus_award

    try:
        signup_bonus_award(member_id=member_id)
    except (LoyaltyError, DatabaseError):
        logger.exception("Sign-up bonus for member %s not paid", member_id)
