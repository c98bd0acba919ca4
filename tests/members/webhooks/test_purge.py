"""The nightly purge of the outbox: finished events older than the keeping time go with their
deliveries and attempts; recent ones, undispatched ones and ones with a delivery still pending
stay; it works in batches and a second run finds nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from members.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from members.webhooks.services import webhook_history_purge
from members.webhooks.tasks import webhook_history_purge_task
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def event(days_ago: int, *, dispatched: bool = True, delivery: str | None = "succeeded") -> WebhookEvent:
    at = NOW - timedelta(days=days_ago)
    made = WebhookEvent.objects.create(
        type="purchase.recorded", created_at=at, dispatched_at=at if dispatched else None
    )
    if delivery:
        endpoint = WebhookEndpoint.objects.first() or WebhookEndpoint.objects.create(
            store=factories.StoreFactory(), url="https://crm.example.org/hook", events=["purchase.recorded"]
        )
        sent = WebhookDelivery.objects.create(event=made, endpoint=endpoint, status=delivery, retry_until=at)
        WebhookAttempt.objects.create(delivery=sent, number=1, outcome="succeeded")
    return made


def test_finished_old_events_go_with_their_deliveries_and_the_rest_stay(settings):
    settings.LOYALTY_WEBHOOKS_KEEP_DAYS = 30
    old = [event(40), event(40, delivery="failed"), event(40, delivery=None)]
    kept = [event(10), event(40, dispatched=False, delivery=None), event(40, delivery="pending")]

    assert webhook_history_purge(now=NOW, batch=2) == 3
    assert webhook_history_purge(now=NOW) == 0

    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {e.pk for e in kept}
    assert not WebhookDelivery.objects.filter(event_id__in=[e.pk for e in old]).exists()
    assert WebhookAttempt.objects.count() == 2  # those of the kept events' deliveries


def test_the_nightly_task_purges():
    event(60)
    assert webhook_history_purge_task.delay(scheduled=True).get() == 1
