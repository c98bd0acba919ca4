"""Celery tasks of engagement: thin, ids only."""

from __future__ import annotations

from celery import shared_task

from members.tasks import job_task

challenges_recompute_task = job_task(
    "campaigns.engagement.tasks.challenges_recompute_task", "recompute_challenges"
)


@shared_task(name="campaigns.engagement.tasks.engagement_notify_task", acks_late=True)
def engagement_notify_task(completion_ids: list[int], badge_ids: list[int]) -> int:
    from .notify import engagement_notify

    return engagement_notify(completion_ids=completion_ids, badge_ids=badge_ids)
