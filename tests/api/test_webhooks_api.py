"""``/api/v1/webhooks/``: a store registers, lists and removes its own endpoints."""

from __future__ import annotations

import pytest

from members.webhooks.models import WebhookEndpoint

URL = "/api/v1/webhooks/"
pytestmark = pytest.mark.django_db


def register(client, **body):
    body.setdefault("url", "https://crm.example.com/hooks")
    body.setdefault("events", ["purchase.recorded", "tier.changed"])
    return client.post(URL, body, format="json")


def test_a_store_registers_an_endpoint_and_sees_its_secret_once(
    api_client, store, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        response = register(api_client)

    assert response.status_code == 201
    created = response.json()
    assert created["url"] == "https://crm.example.com/hooks"
    assert created["events"] == ["purchase.recorded", "tier.changed"]
    assert created["secret"].startswith("whsec_")
    assert WebhookEndpoint.objects.get(pk=created["id"]).store == store

    with django_assert_max_num_queries(3):
        listed = api_client.get(URL)
    assert listed.status_code == 200
    assert [(e["id"], e["url"]) for e in listed.json()] == [(created["id"], created["url"])]
    assert "secret" not in listed.json()[0]


def test_a_store_sees_and_deletes_only_its_own(api_client, other_store_client):
    mine = register(api_client).json()
    theirs = register(other_store_client, url="https://other.example.com/h").json()

    assert [e["id"] for e in api_client.get(URL).json()] == [mine["id"]]
    assert api_client.delete(f"{URL}{theirs['id']}/").status_code == 404
    assert api_client.delete(f"{URL}{mine['id']}/").status_code == 204
    assert api_client.delete(f"{URL}{mine['id']}/").status_code == 404
    assert api_client.get(URL).json() == []
    assert WebhookEndpoint.objects.get(pk=theirs["id"]).is_active


@pytest.mark.parametrize(
    "body, field",
    [
        ({"url": "http://crm.example.com/hooks"}, "url"),
        ({"url": "https://127.0.0.1/hooks"}, "url"),
        ({"url": "https://192.168.1.10/hooks"}, "url"),
        ({"url": "https://[fe80::1]/hooks"}, "url"),
        ({"url": "https://user:pw@crm.example.com/"}, "url"),
        ({"url": 42}, "url"),
        ({"events": []}, "events"),
        ({"events": ["points.stolen"]}, "events"),
        ({"events": "purchase.recorded"}, "events"),
    ],
)
def test_bad_input_is_400_and_registers_nothing(api_client, body, field):
    response = register(api_client, **body)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_an_unknown_or_huge_id_is_404(api_client):
    assert api_client.delete(f"{URL}99999999999999999999999/").status_code == 404
    assert api_client.delete(f"{URL}0/").json()["error"]["code"] == "not_found"
