"""The card page (/portal/card/): a fresh one-time code as a QR code and as text, that a
partner's till redeems with once, on a page that works under the site's strict CSP."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from members.api_keys import api_key_create, store_get_or_create
from members.cards import CARD_ALPHABET, CARD_TOKEN_MINUTES, normalise_card_code
from members.models import MemberCardToken
from rewards.demo import seed_program as seed_rewards
from tests.api.conftest import client_with_key
from tests.rewards.support import fund

CODE = re.compile(r'<p class="card-code-text mono" data-code>([0-9A-Z]{5}-[0-9A-Z]{5})</p>')


def shown_code(response) -> str:
    match = CODE.search(response.content.decode())
    assert match, "no code on the page"
    return match.group(1)


def test_the_card_shows_a_qr_code_and_the_same_code_as_text(member_client, portal_member):
    response = member_client.get(reverse("portal:card"))

    html = response.content.decode()
    code = shown_code(response)
    assert response.status_code == 200
    assert set(code.replace("-", "")) <= set(CARD_ALPHABET)
    assert "<svg" in html and "<title>Card code</title>" in html
    assert portal_member.member_number in html
    assert 'aria-current="page">Card</a>' in html  # in the portal's navigation
    assert "no-store" in response["Cache-Control"]
    # The countdown runs from a static script; nothing inline for the CSP to refuse.
    assert re.search(r'<script src="/static/js/card.js" defer>', html)
    assert not re.search(r"<script>|<style|style=", html)
    assert f'data-seconds-left="{CARD_TOKEN_MINUTES * 60}"' in html
    token = MemberCardToken.objects.get(member=portal_member)
    assert (
        timedelta(minutes=CARD_TOKEN_MINUTES - 1)
        < token.expires_at - timezone.now()
        <= timedelta(minutes=CARD_TOKEN_MINUTES)
    )


def test_every_visit_shows_a_new_code_and_earlier_ones_live_out_their_minutes(member_client, portal_member):
    first = shown_code(member_client.get(reverse("portal:card")))
    second = shown_code(member_client.get(reverse("portal:card")))

    assert first != second
    assert MemberCardToken.objects.filter(member=portal_member, used_at__isnull=True).count() == 2
    MemberCardToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    member_client.get(reverse("portal:card"))
    assert MemberCardToken.objects.filter(member=portal_member).count() == 1  # expired ones go


def test_the_card_page_runs_a_fixed_number_of_queries(
    member_client, portal_member, django_assert_max_num_queries
):
    for _ in range(5):
        member_client.get(reverse("portal:card"))

    # The session and its user, the member; in a savepoint: deleting expired codes, the new one.
    with django_assert_max_num_queries(7):
        assert member_client.get(reverse("portal:card")).status_code == 200


@pytest.mark.django_db
def test_a_partners_till_redeems_once_with_the_code_shown(member_client, portal_member):
    seed_rewards()
    fund(portal_member, 500, "gift")
    _, raw_key = api_key_create(store=store_get_or_create(name="Corner Bakery", is_partner=True))
    till = client_with_key(raw_key)
    code = shown_code(member_client.get(reverse("portal:card")))
    body = {"member": portal_member.member_number, "reward": "free-coffee", "member_token": code}

    first = till.post("/api/v1/redemptions/", body, format="json")
    second = till.post("/api/v1/redemptions/", body, format="json")

    assert first.status_code == 201
    assert (second.status_code, second.json()["error"]["code"]) == (403, "invalid_member_token")


def test_what_a_cashier_types_is_read_leniently():
    assert normalise_card_code(" k7m2q-9xd4t ") == "K7M2Q9XD4T"
    assert normalise_card_code("O1IL-") == "0111"
