"""Webhooks on a real Celery worker, against Redis and the test database, posting to a real
receiver on 127.0.0.1: the worker is killed (SIGKILL) while the receiver holds its request,
a new worker takes the delivery once the first one's lease runs out and marks that attempt
lost, the receiver then fails once (500) and the retry gets through. The receiver sees the
same event id every time, a signature that verifies every time, and never one attempt id
twice."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.services.purchases import purchase_record
from loyalty_site.celery import app as celery_app
from members.webhooks.models import WebhookAttempt, WebhookDelivery
from members.webhooks.services import endpoint_create
from members.webhooks.signing import signature_verify
from tests import factories
from tests.members.webhooks.conftest import receiver  # noqa: F401  (the receiver fixture)
from tests.reliability.test_worker_faults import Worker, clean_broker, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore:task_always_eager has no effect on send_task"),
]


def test_a_delivery_killed_mid_request_is_delivered_later_once_per_attempt_id(
    receiver,  # noqa: F811
    program,
    tmp_path,
    monkeypatch,
):
    clean_broker()
    monkeypatch.setenv("LOYALTY_WEBHOOKS_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("LOYALTY_WEBHOOKS_TIMEOUT", "3")
    hook = endpoint_create(store=None, url=receiver.url, events=["purchase.recorded"])
    member = factories.MemberFactory()
    # the first request hangs (the worker dies waiting), the second fails, the third succeeds
    receiver.answer((200, 20.0), (500, 0.0))

    worker = Worker(tmp_path / "worker.log")
    # The test process queues on the real broker; the worker runs the tasks.
    celery_app.conf.task_always_eager = False
    try:
        purchase_record(
            store=factories.StoreFactory(),
            member_number=member.member_number,
            external_id="till-1",
            amount=Decimal("25.00"),
            currency="USD",
            purchased_at=timezone.now(),
        )
        assert receiver.arrived.wait(60), "the worker never posted"
        worker.kill()
        killed = time.monotonic()
        assert WebhookAttempt.objects.get().outcome == "in_flight"

        worker = Worker(tmp_path / "worker.log")
        wait_for(lambda: WebhookDelivery.objects.filter(status="succeeded").exists(), "the delivery", 180)
        finished = time.monotonic()
    finally:
        celery_app.conf.task_always_eager = True
        worker.stop()

    delivery = WebhookDelivery.objects.get()
    attempts = list(delivery.attempt_rows.order_by("number"))
    outcomes = [(a.outcome, a.status_code) for a in attempts]
    assert outcomes == [("lost", None), ("failed", 500), ("succeeded", 200)]
    assert len(receiver.requests) == 3
    event_ids = {r.headers["Loyalty-Event-Id"] for r in receiver.requests}
    attempt_ids = [r.headers["Loyalty-Attempt-Id"] for r in receiver.requests]
    assert event_ids == {delivery.event.public_id}
    assert len(set(attempt_ids)) == 3
    assert set(attempt_ids) == {str(a.attempt_id) for a in attempts}
    for request in receiver.requests:
        assert signature_verify(hook.secret, request.body, request.headers["Loyalty-Signature"])
    print(f"\ndelivered {finished - killed:.1f} s after the worker was killed, on attempt 3")
