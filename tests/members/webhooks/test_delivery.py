"""Delivery to a real HTTP receiver on 127.0.0.1: signed posts, failures and slow answers
retried with backoff under the same event id and a new attempt id, refused addresses, and an
endpoint disabled after a day of failures."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from members.errors import InvalidRequest
from members.models import AuditEvent
from members.webhooks.addresses import AddressNotAllowed, delivery_address_check
from members.webhooks.delivery import delivery_send, retry_delay
from members.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from members.webhooks.services import endpoint_create, events_dispatch_chunk
from members.webhooks.signing import signature_verify
from members.webhooks.tasks import webhooks_sweep
from tests import factories
from tests.members.webhooks.test_outbox import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def hook(receiver, program):
    return endpoint_create(store=None, url=receiver.url, events=["purchase.recorded"])


def one_delivery() -> WebhookDelivery:
    events_dispatch_chunk()
    (delivery,) = WebhookDelivery.objects.all()
    return delivery


def test_an_event_arrives_signed_with_its_id(receiver, hook, member, django_capture_on_commit_callbacks):
    store = factories.StoreFactory()
    # when a purchase commits, the tasks queued after commit dispatch and send it
    with django_capture_on_commit_callbacks(execute=True):
        buy(member, store, "p1")

    (request,) = receiver.requests
    body = json.loads(request.body)
    assert body["type"] == "purchase.recorded"
    assert body["data"]["member_number"] == member.member_number
    assert body["data"]["external_id"] == "p1"
    assert set(body) == {"id", "type", "created_at", "data"}
    assert request.headers["Loyalty-Event-Id"] == body["id"]
    assert signature_verify(hook.secret, request.body, request.headers["Loyalty-Signature"])
    assert not signature_verify("whsec_other", request.body, request.headers["Loyalty-Signature"])
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)


def test_a_failure_is_retried_within_a_minute_with_the_same_event_id(receiver, hook, member):
    store = factories.StoreFactory()
    buy(member, store, "p1")
    delivery = one_delivery()
    receiver.answer((500, 0))

    first = delivery_send(delivery_id=delivery.pk)
    assert first.outcome == "retrying" and timedelta(seconds=15) <= first.retry_in <= timedelta(seconds=45)
    # not due yet: the sweeper leaves it
    assert webhooks_sweep() == 0 and len(receiver.requests) == 1

    later = timezone.now() + timedelta(minutes=1)
    assert delivery_send(delivery_id=delivery.pk, now=later).outcome == "succeeded"

    one, two = receiver.requests
    assert one.headers["Loyalty-Event-Id"] == two.headers["Loyalty-Event-Id"]
    assert one.headers["Loyalty-Attempt-Id"] != two.headers["Loyalty-Attempt-Id"]
    assert signature_verify(hook.secret, two.body, two.headers["Loyalty-Signature"])
    attempts = list(WebhookAttempt.objects.order_by("number").values_list("number", "outcome", "status_code"))
    assert attempts == [(1, "failed", 500), (2, "succeeded", 200)]
    hook.refresh_from_db()
    assert hook.failing_since is None


def test_a_slow_answer_is_a_timeout_and_retried(receiver, hook, member, settings):
    settings.LOYALTY_WEBHOOKS_TIMEOUT = 0.5
    buy(member, factories.StoreFactory(), "p1")
    delivery = one_delivery()
    receiver.answer((200, 2.0))

    sent = delivery_send(delivery_id=delivery.pk)

    assert sent.outcome == "retrying"
    attempt = WebhookAttempt.objects.get()
    assert attempt.outcome == "failed" and "No answer within 0.5 s" in attempt.error
    assert attempt.duration_ms < 1500


def test_the_backoff_grows_to_hours_and_retries_for_more_than_a_day():
    delays = [retry_delay(n) for n in range(1, 30)]
    assert delays[0] < timedelta(minutes=1)
    assert all(d <= timedelta(hours=9) for d in delays)
    total, attempts = timedelta(0), 0
    while total < timedelta(hours=24):
        attempts += 1
        total += retry_delay(attempts)
    assert 10 <= attempts <= 30


def test_an_endpoint_failing_for_a_day_is_disabled_and_staff_told(receiver, hook, member, program):
    manager = factories.UserFactory(email="boss@example.org", is_staff=True, is_superuser=True)
    buy(member, factories.StoreFactory(), "p1")
    delivery = one_delivery()
    receiver.answer(*[(503, 0)] * 5)
    start = timezone.now()

    assert delivery_send(delivery_id=delivery.pk, now=start).outcome == "retrying"
    # a day and more of failures later
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=start)
    later = start + timedelta(hours=25)
    WebhookEndpoint.objects.filter(pk=hook.pk).update(failing_since=start - timedelta(hours=25))
    sent = delivery_send(delivery_id=delivery.pk, now=later)

    hook.refresh_from_db()
    delivery.refresh_from_db()
    assert not hook.is_active and hook.disabled_at is not None
    assert delivery.status == "failed" and sent.outcome in ("retrying", "failed")
    assert AuditEvent.objects.filter(action="webhook_endpoint_disabled").count() == 1
    # (mail goes out after commit; in this test the task runs directly)
    from members.webhooks.tasks import endpoint_disabled_notify

    assert endpoint_disabled_notify(endpoint_id=hook.pk) == 1
    assert mail.outbox[-1].to == [manager.email] and hook.url in mail.outbox[-1].subject


def test_loopback_is_refused_unless_allowed_and_private_addresses_always(receiver, hook, member, settings):
    buy(member, factories.StoreFactory(), "p1")
    delivery = one_delivery()
    settings.LOYALTY_WEBHOOKS_ALLOW_LOOPBACK = False

    delivery_send(delivery_id=delivery.pk)

    assert receiver.requests == []
    assert WebhookAttempt.objects.get().error == "Not sent: the URL must use https"
    with pytest.raises(AddressNotAllowed, match="loopback"):
        delivery_address_check("https://localhost:1/hook")
    with pytest.raises(InvalidRequest) as refused:
        endpoint_create(store=None, url="https://10.1.2.3/hook", events=["purchase.recorded"])
    assert "private" in str(refused.value.fields["url"])
    for url in (
        "http://example.com/h",
        "https://169.254.169.254/latest",
        "https://127.0.0.1/h",
        "ftp://x.example",
    ):
        with pytest.raises(InvalidRequest):
            endpoint_create(store=None, url=url, events=["purchase.recorded"])


def test_a_worker_lost_mid_request_leaves_the_attempt_lost_and_a_new_one_goes_out(receiver, hook, member):
    buy(member, factories.StoreFactory(), "p1")
    delivery = one_delivery()
    now = timezone.now()
    # given a worker that claimed the delivery and wrote its attempt, then died
    WebhookDelivery.objects.filter(pk=delivery.pk).update(lease_until=now + timedelta(seconds=25), attempts=1)
    WebhookAttempt.objects.create(delivery=delivery, number=1, started_at=now)

    # while the lease holds, no one else sends it
    assert delivery_send(delivery_id=delivery.pk, now=now).outcome == "busy"
    # once it runs out, the next claim sends it
    assert delivery_send(delivery_id=delivery.pk, now=now + timedelta(seconds=30)).outcome == "succeeded"

    assert list(WebhookAttempt.objects.order_by("number").values_list("outcome", flat=True)) == [
        "lost",
        "succeeded",
    ]
    assert len(receiver.requests) == 1


def test_the_readme_shows_how_to_verify_a_signature():
    from pathlib import Path

    from members.webhooks.signing import signature_header

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    snippet = readme.split("Verifying a delivery")[1].split("```python")[1].split("```")[0]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 (our own README)
    body = b'{"id":"evt_1","type":"purchase.recorded"}'
    header = signature_header("whsec_abc", body)
    assert namespace["verify"]("whsec_abc", body, header)
    assert not namespace["verify"]("whsec_abc", body + b" ", header)
    assert not namespace["verify"]("whsec_abc", body, signature_header("whsec_abc", body, timestamp=1))
