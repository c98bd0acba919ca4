"""API fixtures: a store, one of its keys, and a client that sends it.

``api_client`` is a DRF ``APIClient`` with ``Authorization: Bearer <key>`` of ``store``;
``other_store_client`` is the same for a second store (to test what a store may not see)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from members.api_keys import api_key_create, store_get_or_create


@pytest.fixture
def store(db):
    return store_get_or_create(name="Main Street Store")


@pytest.fixture
def api_key(store) -> str:
    """The key in the clear (as shown once when it is created)."""
    _, raw_key = api_key_create(store=store, name="test till")
    return raw_key


def client_with_key(raw_key: str | None) -> APIClient:
    client = APIClient()
    if raw_key:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api_client(api_key) -> APIClient:
    return client_with_key(api_key)


@pytest.fixture
def other_store(db):
    return store_get_or_create(name="Harbour Web Shop")


@pytest.fixture
def other_store_client(other_store) -> APIClient:
    _, raw_key = api_key_create(store=other_store, name="web")
    return client_with_key(raw_key)


@pytest.fixture
def anonymous_client() -> APIClient:
    return client_with_key(None)
