"""Celery tasks: thin wrappers that call services, passing ids. The scheduled ones run this
app's registered jobs (``CampaignsConfig.ready``) through the core's job runner."""

from __future__ import annotations

from celery import shared_task

from members.tasks import job_task

campaigns_settle_task = job_task("campaigns.tasks.campaigns_settle_task", "settle_campaigns")
birthday_bonuses_award_task = job_task("campaigns.tasks.birthday_bonuses_award_task", "birthday_bonuses")
segments_refresh_task = job_task("campaigns.tasks.segments_refresh_task", "refresh_segments")


@shared_task(name="campaigns.tasks.purchase_import_process_task", acks_late=True)
def purchase_import_process_task(import_id: int) -> None:
    """One chunk, then re-queue: a long file never holds one worker for long."""
    from .services import purchase_import_process_chunk

    if purchase_import_process_chunk(import_id=import_id):
        purchase_import_process_task.delay(import_id)


@shared_task(name="campaigns.tasks.offer_mail_send_task", acks_late=True)
def offer_mail_send_task(offer_id: int) -> int:
    from .offers_mail import offer_mail_send

    return offer_mail_send(offer_id=offer_id)
