"""Sent inside the transaction of the change (so an outbox can record them with it), with the
rows as arguments; mail goes out after the commit (``tasks.engagement_notify_task``)."""

from django.dispatch import Signal

challenge_completed = Signal()  # completion=ChallengeCompletion
badge_earned = Signal()  # member_badge=MemberBadge
