"""The contract's offers over HTTP: the ``lapsed`` segment and its ``come-back`` offer end to end
(list, activate, activate again, the purchase that uses it, and the one after), an offer not
meant for the member, a partner's view, bad input, and fixed query counts."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns.demo import seed_offers
from campaigns.models import Offer, OfferActivation, OfferTarget, OfferUse, Segment
from members.api_keys import api_key_create, store_get_or_create
from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member, Purchase
from tests.api.conftest import client_with_key
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
PURCHASES = "/api/v1/purchases/"


def offers_url(member: Member) -> str:
    return f"/api/v1/members/{member.member_number}/offers/"


def activate_url(member: Member, code: str) -> str:
    return f"{offers_url(member)}{code}/activate/"


def post_purchase(client, member: Member, external_id: str, amount: str, purchased_at):
    payload = {
        "member": member.member_number,
        "external_id": external_id,
        "amount": amount,
        "currency": "USD",
        "purchased_at": purchased_at.isoformat(),
    }
    return client.post(PURCHASES, payload, format="json")


@pytest.fixture
def lapsed_member(program, store) -> Member:
    """A member whose only purchase was 70 days ago, after ``refresh_segments`` has run."""
    seed_offers()
    member = MemberFactory()
    then = timezone.now() - timedelta(days=70)
    Purchase.objects.create(
        member=member, store=store, external_id="old", amount=Decimal("20"), currency="USD",
        purchased_at=then, available_at=then,
    )  # fmt: skip
    call_command("refresh_segments", stdout=StringIO())
    return member


def test_come_back_end_to_end(api_client, lapsed_member):
    member = lapsed_member
    listed = api_client.get(offers_url(member))
    assert listed.status_code == 200
    [offer] = listed.json()["results"]
    assert set(offer) == {"code", "name", "description", "activated", "valid_until"}
    assert (offer["code"], offer["activated"]) == ("come-back", False)

    # not activated yet: a purchase earns no offer points
    before = post_purchase(api_client, member, "T-0", "10.00", timezone.now() - timedelta(minutes=1))
    assert [a["source"] for a in before.json()["awards"]] == ["base"]

    activated = api_client.post(activate_url(member, "come-back"))
    assert activated.status_code == 200
    body = activated.json()
    assert body["code"] == "come-back" and body["activated"] is True
    activation = OfferActivation.objects.get(member=member)
    assert activation.valid_until == activation.activated_at + timedelta(days=30)
    again = api_client.post(activate_url(member, "come-back"))
    assert again.status_code == 200 and again.json() == body
    assert OfferActivation.objects.count() == 1

    used = post_purchase(api_client, member, "T-1", "37.60", timezone.now())
    assert used.status_code == 201
    awards = used.json()["awards"]
    assert awards == [{"source": "base", "points": 37}, {"source": "offer:come-back", "points": 37}]
    assert used.json()["points_awarded"] == 74

    # once: the next purchase earns its base points only, and the offer is no longer listed
    after = post_purchase(api_client, member, "T-2", "37.60", timezone.now())
    assert [a["source"] for a in after.json()["awards"]] == ["base"]
    assert api_client.get(offers_url(member)).json() == {"results": []}
    assert api_client.post(activate_url(member, "come-back")).status_code == 404
    assert OfferUse.objects.get().points == 37
    assert ledger_violations() == []


def test_a_purchase_more_than_30_days_after_activation_earns_no_offer_points(api_client, lapsed_member):
    import time_machine

    member = lapsed_member
    assert api_client.post(activate_url(member, "come-back")).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        late = post_purchase(api_client, member, "T-late", "50.00", timezone.now())
    assert [a["source"] for a in late.json()["awards"]] == ["base"]
    assert not OfferUse.objects.exists()


def test_an_offer_not_meant_for_the_member_is_404_and_changes_nothing(api_client, program):
    seed_offers()
    active_member = MemberFactory()

    response = api_client.post(activate_url(active_member, "come-back"))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "offer_not_found"
    assert api_client.post(activate_url(active_member, "no-such-offer")).status_code == 404
    assert api_client.get(offers_url(active_member)).json() == {"results": []}
    assert not OfferActivation.objects.exists()


@pytest.mark.parametrize("number", ["nobody", "x" * 30, "%00"])
def test_an_unknown_member_is_404(api_client, program, number):
    assert api_client.get(f"/api/v1/members/{number}/offers/").status_code == 404
    response = api_client.post(f"/api/v1/members/{number}/offers/come-back/activate/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_partner_sees_offers_only_of_members_related_to_it(lapsed_member):
    partner = store_get_or_create(name="Corner Bakery", is_partner=True)
    _, key = api_key_create(store=partner, name="bakery")
    client = client_with_key(key)

    assert client.get(offers_url(lapsed_member)).status_code == 404
    assert client.post(activate_url(lapsed_member, "come-back")).status_code == 404
    assert not OfferActivation.objects.exists()

    Member.objects.filter(pk=lapsed_member.pk).update(enrolled_store=partner)
    assert client.get(offers_url(lapsed_member)).json()["results"][0]["code"] == "come-back"


def test_other_methods_and_no_key(api_client, anonymous_client, lapsed_member):
    assert anonymous_client.get(offers_url(lapsed_member)).status_code == 401
    assert api_client.post(offers_url(lapsed_member)).status_code == 405
    assert api_client.get(activate_url(lapsed_member, "come-back")).status_code == 405


@pytest.mark.parametrize("count", [1, 12])
def test_listing_and_activating_take_a_fixed_number_of_queries(
    api_client, lapsed_member, django_assert_max_num_queries, count
):
    for i in range(count):
        offer = Offer.objects.create(
            code=f"extra-{i}", name=f"Extra {i}", kind=Offer.Kind.SPEND_BONUS, bonus_points=10,
            requires_activation=bool(i % 2), starts_at=timezone.now() - timedelta(days=1),
            ends_at=timezone.now() + timedelta(days=5),
        )  # fmt: skip
        OfferTarget.objects.create(offer=offer, member=lapsed_member)

    with django_assert_max_num_queries(4):
        listed = api_client.get(offers_url(lapsed_member))
    assert len(listed.json()["results"]) == count + 1
    with django_assert_max_num_queries(8):
        assert api_client.post(activate_url(lapsed_member, "come-back")).status_code == 200


def test_the_defaults_are_seeded_once(program):
    seed_offers()
    seed_offers()
    lapsed = Segment.objects.get(code="lapsed")
    assert lapsed.conditions.count() == 2
    offer = Offer.objects.get(code="come-back")
    assert (offer.segment, offer.multiplier, offer.requires_activation) == (lapsed, Decimal("2"), True)
    assert (offer.days_after_activation, offer.uses_per_member) == (30, 1)
    assert LedgerEntry.objects.count() == 0
