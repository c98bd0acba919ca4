"""Paid memberships through HTTP (shared/CONTRACT.md, "Paid memberships"): the `plus` default
exact, a replay, membership_active, unknown plan and member, bad input, the member answer's
`membership`, the tier floor and the earn multiplier at purchase, cancelling (benefits end
now, back to the qualified tier), other stores, and the query counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member, Membership, MembershipPlan, TierChange
from members.models_plans import add_months
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/api/v1/memberships/"


@pytest.fixture(autouse=True)
def _ledger_clean_after(db):
    yield
    assert ledger_violations() == []


def buy(client, member: Member, external_id: str = "M-1", plan: str = "plus"):
    return client.post(
        URL, {"member": member.member_number, "plan": plan, "external_id": external_id}, format="json"
    )


def purchase(client, member: Member, external_id: str, amount: str = "100.00"):
    return client.post(
        "/api/v1/purchases/",
        {
            "member": member.member_number,
            "external_id": external_id,
            "amount": amount,
            "currency": "USD",
            "purchased_at": timezone.now().isoformat(),
        },
        format="json",
    )


def test_the_plus_plan_is_seeded_as_the_contract_says(program):
    plan = MembershipPlan.objects.get(code="plus")
    assert (plan.price, plan.term_months, plan.min_tier.code, plan.earn_multiplier) == (
        Decimal("49.00"),
        12,
        "gold",
        Decimal("1.50"),
    )


def test_buying_plus_answers_201_and_lifts_the_member_to_gold_until_it_ends(api_client, member, store):
    before = timezone.now()
    response = buy(api_client, member)

    assert response.status_code == 201
    body = response.json()
    membership = Membership.objects.get()
    assert body == {
        "id": membership.pk,
        "plan": "plus",
        "status": "active",
        "starts_at": body["starts_at"],
        "ends_at": body["ends_at"],
    }
    starts_at = parse_datetime(body["starts_at"])
    assert before <= starts_at <= timezone.now()
    assert parse_datetime(body["ends_at"]) == add_months(starts_at, 12)
    assert membership.store == store and membership.price == Decimal("49.00")
    member.refresh_from_db()
    assert member.tier.code == "gold"
    assert member.tier_held_until == membership.ends_at  # held by the plan, only while it lasts
    change = TierChange.objects.filter(member=member).latest("id")
    assert (change.to_tier.code, change.reason) == ("gold", TierChange.Reason.MEMBERSHIP)

    answer = api_client.get(f"/api/v1/members/{member.member_number}/").json()
    assert answer["tier"] == {"code": "gold", "name": "Gold"}
    assert answer["membership"] == {"plan": "plus", "ends_at": body["ends_at"]}


def test_a_replay_answers_200_with_the_same_body_and_nothing_new(api_client, member):
    first = buy(api_client, member)
    again = buy(api_client, member)

    assert again.status_code == 200
    assert again.json() == first.json()
    assert Membership.objects.count() == 1
    assert TierChange.objects.filter(member=member, reason=TierChange.Reason.MEMBERSHIP).count() == 1


def test_a_second_sale_of_a_running_plan_is_409_membership_active(api_client, member):
    buy(api_client, member, "M-1")

    response = buy(api_client, member, "M-2")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "membership_active"
    assert Membership.objects.count() == 1


def test_the_same_external_id_for_another_member_is_409(api_client, member):
    buy(api_client, member, "M-1")
    other = factories.MemberFactory()

    response = buy(api_client, other, "M-1")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_external_id"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"plan": "gold-club"}, 404, "not_found"),
        ({"member": "999999999"}, 404, "not_found"),
        ({"plan": 7}, 400, "invalid"),
        ({"external_id": ""}, 400, "invalid"),
        ({"external_id": "x" * 101}, 400, "invalid"),
        ({"member": None}, 400, "invalid"),
    ],
)
def test_bad_input_is_a_4xx_and_changes_nothing(api_client, member, body, status, code):
    payload = {"member": member.member_number, "plan": "plus", "external_id": "M-1", **body}

    response = api_client.post(URL, payload, format="json")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Membership.objects.exists()
    member.refresh_from_db()
    assert member.tier.code == "bronze"


def test_without_a_key_it_is_401(anonymous_client, member):
    assert buy(anonymous_client, member).status_code == 401


def test_plus_multiplies_the_tiers_multiplier_at_purchase(api_client, member):
    buy(api_client, member)

    response = purchase(api_client, member, "T-1", "100.00")

    assert response.status_code == 201
    body = response.json()
    # 100 x 1 point x gold's 1.5 x the plan's 1.5
    assert body["points_awarded"] == 225
    assert body["awards"] == [
        {"source": "base", "points": 100},
        {"source": "tier:gold", "points": 50},
        {"source": "plan:plus", "points": 75},
    ]


def test_cancelling_ends_the_benefits_now_and_returns_the_member_to_their_tier(api_client, member):
    membership_id = buy(api_client, member).json()["id"]

    response = api_client.post(f"{URL}{membership_id}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    member.refresh_from_db()
    assert member.tier.code == "bronze"  # what a member with no spend qualifies for
    answer = api_client.get(f"/api/v1/members/{member.member_number}/").json()
    assert answer["membership"] is None and answer["tier"]["code"] == "bronze"
    assert purchase(api_client, member, "T-1", "100.00").json()["points_awarded"] == 100
    # Again: the same answer; the plan may be bought anew.
    assert api_client.post(f"{URL}{membership_id}/cancel/").json()["status"] == "cancelled"
    assert buy(api_client, member, "M-2").status_code == 201


def test_cancelling_keeps_a_tier_the_member_qualifies_for(api_client, member):
    purchase(api_client, member, "T-1", "600.00")  # silver
    membership_id = buy(api_client, member).json()["id"]
    member.refresh_from_db()
    assert member.tier.code == "gold"

    api_client.post(f"{URL}{membership_id}/cancel/")

    member.refresh_from_db()
    assert member.tier.code == "silver"


def test_another_store_cannot_cancel_a_membership_it_did_not_sell(api_client, other_store_client, member):
    membership_id = buy(api_client, member).json()["id"]

    response = other_store_client.post(f"{URL}{membership_id}/cancel/")

    assert response.status_code == 404
    assert Membership.objects.get().status == "active"


def test_an_unknown_membership_is_404(api_client, program):
    assert api_client.post(f"{URL}99999999/cancel/").status_code == 404


def test_the_member_answer_has_a_null_membership_without_one(api_client, member):
    assert api_client.get(f"/api/v1/members/{member.member_number}/").json()["membership"] is None


def test_reading_a_member_with_a_membership_costs_no_more_queries(
    api_client, member, django_assert_max_num_queries
):
    buy(api_client, member)
    url = f"/api/v1/members/{member.member_number}/"
    api_client.get(url)
    with django_assert_max_num_queries(8):
        assert api_client.get(url).status_code == 200


def test_buying_a_plan_has_a_fixed_query_count(api_client, member, django_assert_max_num_queries):
    factories.MemberFactory.create_batch(3)
    with django_assert_max_num_queries(40):
        assert buy(api_client, member).status_code == 201
    other = factories.MemberFactory()
    with django_assert_max_num_queries(40):
        assert buy(api_client, other, "M-2").status_code == 201


def test_ledger_entries_are_untouched_by_a_sale(api_client, member):
    buy(api_client, member)
    assert not LedgerEntry.objects.filter(member=member).exists()
