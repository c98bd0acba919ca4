"""Admin lists endpoints, deliveries and attempts with their status codes; staff resend one
delivery or every failed one of an endpoint."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from loyalty_site.staff.roles import PROGRAM_MANAGER
from members.models import AuditEvent
from members.webhooks.delivery import delivery_send
from members.webhooks.models import WebhookDelivery
from members.webhooks.services import endpoint_create, events_dispatch_chunk
from tests import factories
from tests.members.webhooks.test_outbox import buy

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client, program):
    manager = factories.UserFactory(email="pm@example.org", is_staff=True)
    manager.groups.add(Group.objects.get(name=PROGRAM_MANAGER))
    client.force_login(manager)
    return client


def test_deliveries_are_listed_with_status_codes_and_resent(receiver, manager_client, member, settings):
    settings.LOYALTY_WEBHOOKS_RETRY_HOURS = 0  # the first failure is final
    hook = endpoint_create(store=None, url=receiver.url, events=["purchase.recorded"])
    buy(member, factories.StoreFactory(), "p1")
    buy(member, factories.StoreFactory(), "p2")
    events_dispatch_chunk()
    receiver.answer((502, 0), (502, 0))
    for delivery in WebhookDelivery.objects.all():
        delivery_send(delivery_id=delivery.pk)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}

    deliveries = manager_client.get("/admin/members/webhookdelivery/")
    assert deliveries.status_code == 200 and "502" in deliveries.text
    one = WebhookDelivery.objects.order_by("pk").first()
    detail = manager_client.get(f"/admin/members/webhookdelivery/{one.pk}/change/")
    assert detail.status_code == 200 and "HTTP 502" in detail.text
    assert manager_client.get("/admin/members/webhookattempt/").status_code == 200
    assert manager_client.get("/admin/members/webhookendpoint/").status_code == 200
    assert manager_client.get("/admin/members/webhookevent/").status_code == 200

    # when staff resend every failed delivery of the endpoint
    settings.LOYALTY_WEBHOOKS_RETRY_HOURS = 48
    response = manager_client.post(
        "/admin/members/webhookendpoint/",
        {"action": "resend_failed", "_selected_action": [hook.pk]},
    )
    assert response.status_code == 302
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}
    for delivery in WebhookDelivery.objects.all():
        assert delivery_send(delivery_id=delivery.pk).outcome == "succeeded"
    assert AuditEvent.objects.filter(action="webhook_deliveries_resent").count() == 1
    assert len(receiver.requests) == 4
