"""Fixtures of the reliability tests: a store key and a way to call the live server over real
HTTP from many threads at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.core.management import call_command

from members.api_keys import api_key_create, store_get_or_create


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    # The claims of scheduled jobs live in the cache: a table when no Redis is configured.
    with django_db_blocker.unblock():
        call_command("createcachetable", verbosity=0)


class LiveApi:
    """POST and GET against ``live_server`` with a store's Bearer key; one connection per call,
    so threads share nothing but the server."""

    def __init__(self, base_url: str, raw_key: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {raw_key}"}

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        return requests.post(f"{self.base_url}{path}", json=body or {}, headers=self.headers, timeout=60)

    def get(self, path: str) -> requests.Response:
        return requests.get(f"{self.base_url}{path}", headers=self.headers, timeout=60)


@pytest.fixture
def live_api(live_server, program) -> Callable[[str], LiveApi]:
    """``live_api("Till 1")`` is a client with a key of that store."""

    def make(store_name: str = "Main Street Store") -> LiveApi:
        store = store_get_or_create(name=store_name)
        _, raw_key = api_key_create(store=store, name="till")
        return LiveApi(live_server.url, raw_key)

    return make


def statuses(responses: list[Any]) -> dict[int, int]:
    """How many answers had each status; an exception in a thread fails the test."""
    counts: dict[int, int] = {}
    for response in responses:
        if isinstance(response, Exception):
            raise response
        counts[response.status_code] = counts.get(response.status_code, 0) + 1
    return counts
