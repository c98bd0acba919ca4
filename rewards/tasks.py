"""Celery tasks: thin wrappers that call a service with ids and plain values."""

from __future__ import annotations

from celery import shared_task
from django.utils.dateparse import parse_datetime

from members.schedule import DAILY, first_this_period

from . import mail, services


@shared_task(name="rewards.tasks.vouchers_expire_task", acks_late=True)
def vouchers_expire_task(as_of: str | None = None, scheduled: bool = False) -> dict[str, int] | None:
    if scheduled and not first_this_period("expire_vouchers", DAILY):
        return None
    result = services.vouchers_expire(as_of=parse_datetime(as_of) if as_of else None)
    return {
        "vouchers": result.vouchers,
        "points_returned": result.points_returned,
        "points_forfeited": result.points_forfeited,
    }


@shared_task(
    name="rewards.tasks.redemption_confirmation_send_task",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def redemption_confirmation_send_task(redemption_id: int) -> bool:
    return mail.redemption_confirmation_send(redemption_id=redemption_id)
