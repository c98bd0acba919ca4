"""Reactions to the core's signals."""

from django.dispatch import receiver

from members.signals import member_enrolled


@receiver(member_enrolled, dispatch_uid="campaigns.signup_bonus")
def award_signup_bonus(sender, member_id: int, channel: str = "", **kwargs) -> None:
    # The signal is sent after commit: credit in its own transaction, right away.
    from .services import signup_bonus_award

    signup_bonus_award(member_id=member_id)
