"""Celery tasks: thin wrappers that call services, passing ids."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from members.schedule import DAILY, HOURLY, first_this_period

logger = logging.getLogger(__name__)


@shared_task(name="campaigns.tasks.campaigns_settle_task", acks_late=True)
def campaigns_settle_task(scheduled: bool = False) -> dict | None:
    from .services import campaigns_settle

    if scheduled and not first_this_period("settle_campaigns", HOURLY):
        return None

    report = campaigns_settle(as_of=timezone.now())
    logger.info("Campaign settlement: %s", report)
    return {"campaigns": report.campaigns, "members": report.members, "points": report.points}


@shared_task(name="campaigns.tasks.birthday_bonuses_award_task", acks_late=True)
def birthday_bonuses_award_task(scheduled: bool = False) -> int:
    from .services import birthday_bonuses_award

    if scheduled and not first_this_period("birthday_bonuses", DAILY):
        return 0

    paid = birthday_bonuses_award(on=timezone.localdate())
    logger.info("Birthday bonuses paid: %s", paid)
    return paid


@shared_task(name="campaigns.tasks.purchase_import_process_task", acks_late=True)
def purchase_import_process_task(import_id: int) -> None:
    """One chunk, then re-queue: a long file never holds one worker for long."""
    from .services import purchase_import_process_chunk

    if purchase_import_process_chunk(import_id=import_id):
        purchase_import_process_task.delay(import_id)
