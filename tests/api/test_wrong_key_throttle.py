"""Wrong API keys are counted per client address (``API_FAILED_KEY_RATE``): past the rate the
address gets 429 whatever key it sends, and ``X-Forwarded-For`` is believed only behind the
number of proxies the settings declare."""

from __future__ import annotations

import pytest

from .conftest import client_with_key

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def five_wrong_keys_a_minute(settings):
    settings.API_FAILED_KEY_RATE = "5/min"


def guesses(count: int, **headers) -> list[int]:
    return [
        client_with_key(f"guess-{i}").get("/api/v1/rewards/", **headers).status_code for i in range(count)
    ]


def test_an_address_guessing_keys_is_throttled_then_refused_even_the_right_key(api_key):
    assert guesses(5) == [401] * 5

    refused = client_with_key(api_key).get("/api/v1/rewards/")

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert refused.json()["error"]["message"] == "Too many wrong keys from this address."
    assert int(refused["Retry-After"]) >= 1


def test_right_keys_are_never_counted(api_client):
    assert [api_client.get("/api/v1/rewards/").status_code for _ in range(8)] == [200] * 8
    assert guesses(5) == [401] * 5


def test_a_forged_forwarded_for_does_not_reset_the_count():
    assert guesses(5, HTTP_X_FORWARDED_FOR="203.0.113.7") == [401] * 5
    assert guesses(1, HTTP_X_FORWARDED_FOR="198.51.100.9") == [429]


def test_behind_a_declared_proxy_each_client_is_counted_apart(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    assert guesses(5, HTTP_X_FORWARDED_FOR="203.0.113.7") == [401] * 5
    assert guesses(1, HTTP_X_FORWARDED_FOR="203.0.113.7") == [429]
    assert guesses(1, HTTP_X_FORWARDED_FOR="198.51.100.9") == [401]


def test_off_turns_it_off(settings):
    settings.API_FAILED_KEY_RATE = "off"
    assert guesses(30) == [401] * 30
