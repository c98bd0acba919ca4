"""The API answers a domain error in English, as the contract writes it, whatever language the
request asks for, while the portal reads the same error in the member's language. DRF's own
messages (a missing field, a missing key) follow Accept-Language, as they always have."""

from __future__ import annotations

import pytest
from django.utils import translation

from rewards.errors import TierRequired
from rewards.models import Reward
from tests.rewards.support import fund, set_tier

pytestmark = pytest.mark.django_db


@pytest.fixture
def rewards(program):
    from rewards.demo import seed_program

    seed_program()
    return {reward.code: reward for reward in Reward.objects.all()}


def redeem(client, member, reward: str, headers: dict):
    body = {"member": member.member_number, "reward": reward}
    return client.post("/api/v1/redemptions/", body, format="json", **headers)


@pytest.mark.parametrize("language", ["en", "de-CH,de;q=0.9", "fr"])
def test_domain_errors_answer_in_english_whatever_the_language(api_client, member, rewards, language):
    fund(member, 3000, "p")
    set_tier(member, "silver")
    asks = {"HTTP_ACCEPT_LANGUAGE": language}

    unknown = api_client.get("/api/v1/members/NOPE/", **asks)
    tier_too_low = redeem(api_client, member, "vip-event", asks)
    coffee = redeem(api_client, member, "free-coffee", asks).json()
    api_client.post(f"/api/v1/vouchers/{coffee['voucher_code']}/use/", **asks)
    used = api_client.post(f"/api/v1/redemptions/{coffee['id']}/cancel/", **asks)

    assert unknown.json() == {"error": {"code": "not_found", "message": "No such member."}}
    assert tier_too_low.json() == {
        "error": {"code": "tier_required", "message": "This reward needs the Gold tier or higher."}
    }
    assert used.json() == {"error": {"code": "not_cancellable", "message": "The redemption is used."}}


def test_the_same_error_reads_in_the_language_active_when_it_is_read():
    error = TierRequired()

    with translation.override("de"):
        german = str(error.message)
    with translation.override("en"):
        english = str(error.message)

    assert english == "The member's tier is too low for this reward."
    assert german == "Die Stufe des Mitglieds ist für diese Prämie zu tief."


def test_drf_messages_still_follow_accept_language(api_client, anonymous_client):
    missing = api_client.post("/api/v1/members/", {}, format="json", HTTP_ACCEPT_LANGUAGE="de")
    no_key = anonymous_client.get("/api/v1/members/NOPE/", HTTP_ACCEPT_LANGUAGE="de")

    assert missing.json()["error"]["message"] == "The request is not valid."
    assert missing.json()["error"]["fields"]["email"] == ["Dieses Feld ist zwingend erforderlich."]
    assert no_key.json()["error"]["code"] == "unauthenticated"
    assert no_key.json()["error"]["message"] == "Anmeldedaten fehlen."
