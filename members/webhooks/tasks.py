"""Celery tasks of the webhooks: thin wrappers over the services, taking ids.

- ``webhook_events_dispatch_task``: queued after a transaction that wrote events commits;
  matches events to endpoints in chunks, then queues the deliveries.
- ``webhook_deliveries_send_task``: a batch of deliveries to one endpoint, one POST each. A
  failed one is queued again for its retry when that is soon (the first retries), and the
  sweeper finds the later ones.
- ``webhooks_sweep_task``: on the beat every minute; dispatches events whose task never
  reached the broker and queues every delivery that is due and not held by a worker.
- ``webhook_history_purge_task``: nightly; deletes finished events past their keeping time.
"""

from __future__ import annotations

from datetime import timedelta

from celery import current_app, shared_task
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from ..models import User
from .delivery import delivery_send
from .models import WebhookDelivery, WebhookEndpoint
from .services import events_dispatch_chunk, webhook_history_purge

BATCH = 50
# Retries further off than this wait for the sweeper rather than sit in the broker.
QUEUE_RETRIES_WITHIN = timedelta(minutes=10)
SWEEP_LIMIT = 20000
DISPATCH_CHUNKS_PER_TASK = 40


def deliveries_enqueue(batches: dict[int, list[int]], *, countdown: float | None = None) -> int:
    """Queue ``{endpoint_id: [delivery ids]}`` in tasks of at most ``BATCH`` deliveries, one
    endpoint per task so a slow endpoint only slows its own. Delayed sends are left to the
    sweeper when tasks run inline (tests), where a countdown would run them at once."""
    if countdown is not None and current_app.conf.task_always_eager:
        return 0
    queued = 0
    for ids in batches.values():
        for start in range(0, len(ids), BATCH):
            webhook_deliveries_send_task.apply_async(args=[ids[start : start + BATCH]], countdown=countdown)
            queued += 1
    return queued


@shared_task(name="members.webhooks.tasks.webhook_events_dispatch_task", acks_late=True)
def webhook_events_dispatch_task() -> int:
    dispatched = 0
    for _ in range(DISPATCH_CHUNKS_PER_TASK):
        chunk = events_dispatch_chunk()
        dispatched += chunk.events
        if not chunk.events:
            return dispatched
    webhook_events_dispatch_task.delay()  # more left: another task, so none runs for long
    return dispatched


@shared_task(
    name="members.webhooks.tasks.webhook_deliveries_send_task",
    acks_late=True,
    soft_time_limit=20 * 60,
    time_limit=25 * 60,
)
def webhook_deliveries_send_task(delivery_ids: list[int]) -> int:
    succeeded = 0
    for delivery_id in delivery_ids:
        sent = delivery_send(delivery_id=delivery_id)
        succeeded += sent.outcome == "succeeded"
        if sent.retry_in is not None and sent.retry_in <= QUEUE_RETRIES_WITHIN:
            # A retry, or a delivery a lost worker holds until its lease runs out.
            deliveries_enqueue({0: [delivery_id]}, countdown=sent.retry_in.total_seconds() + 1)
    return succeeded


def webhooks_sweep() -> int:
    """Dispatch what was never dispatched and queue what is due; returns deliveries queued."""
    while events_dispatch_chunk().events:
        pass
    now = timezone.now()
    due = (
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .order_by("next_attempt_at")
        .values_list("endpoint_id", "pk")[:SWEEP_LIMIT]
    )
    batches: dict[int, list[int]] = {}
    for endpoint_id, delivery_id in due:
        batches.setdefault(endpoint_id, []).append(delivery_id)
    deliveries_enqueue(batches)
    return sum(len(ids) for ids in batches.values())


@shared_task(name="members.webhooks.tasks.webhooks_sweep_task", acks_late=True)
def webhooks_sweep_task(scheduled: bool = False) -> int:
    return webhooks_sweep()


@shared_task(name="members.webhooks.tasks.webhook_history_purge_task", acks_late=True)
def webhook_history_purge_task(scheduled: bool = False) -> int:
    return webhook_history_purge()


def endpoint_disabled_notify(*, endpoint_id: int) -> int:
    """Mail the staff who manage webhook endpoints (program managers, superusers) that one was
    disabled; returns how many mails went out."""
    endpoint = WebhookEndpoint.objects.select_related("store").get(pk=endpoint_id)
    may_manage = Q(groups__permissions__codename="change_webhookendpoint") | Q(
        user_permissions__codename="change_webhookendpoint"
    )
    recipients = list(
        User.objects.filter(Q(is_superuser=True) | may_manage, is_staff=True, is_active=True)
        .values_list("email", flat=True)
        .distinct()
    )
    if not recipients:
        return 0
    context = {"endpoint": endpoint, "site_url": settings.LOYALTY_SITE_URL}
    subject = " ".join(render_to_string("members/email/webhook_disabled_subject.txt", context).split())
    body = render_to_string("members/email/webhook_disabled_message.txt", context)
    return get_connection().send_messages([EmailMessage(subject=subject, body=body, to=recipients)]) or 0


@shared_task(name="members.webhooks.tasks.webhook_endpoint_disabled_notify_task", acks_late=True)
def webhook_endpoint_disabled_notify_task(endpoint_id: int) -> int:
    return endpoint_disabled_notify(endpoint_id=endpoint_id)
