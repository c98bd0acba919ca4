"""Celery tasks: thin wrappers that call a service with ids and plain values. Voucher expiry is
this app's registered job (``RewardsConfig.ready``), run by the core's job runner."""

from __future__ import annotations

from celery import shared_task

from members.tasks import job_task

from . import mail

vouchers_expire_task = job_task("rewards.tasks.vouchers_expire_task", "expire_vouchers")
plan_vouchers_issue_task = job_task("rewards.tasks.plan_vouchers_issue_task", "issue_plan_vouchers")


@shared_task(
    name="rewards.tasks.redemption_confirmation_send_task",
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def redemption_confirmation_send_task(redemption_id: int) -> bool:
    return mail.redemption_confirmation_send(redemption_id=redemption_id)
