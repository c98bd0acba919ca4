"""POST /api/v1/members/, GET /api/v1/members/{member_number}/ and its transactions, through
HTTP: the contract's member shape, member_exists, validation, referral links, the sign-up
bonus, newest-first paging with a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import ActionRule
from members.ledger.services import points_credit
from members.models import LedgerEntry, Member, Purchase, Tier
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)
URL = "/api/v1/members/"


def enrol_payload(**extra) -> dict:
    return {"email": "Ada@Example.org", "first_name": "Ada", "last_name": "Lovelace", **extra}


def credit(member: Member, points: int, key: str, **extra) -> None:
    points_credit(member_id=member.pk, points=points, idempotency_key=key, source_type="system", **extra)


def test_enrolling_answers_201_with_the_member(api_client, program, store):
    response = api_client.post(URL, enrol_payload(phone="+15550100", birth_date="1990-05-17"), format="json")

    assert response.status_code == 201
    body = response.json()
    member = Member.objects.get()
    assert body == {
        "member_number": member.member_number,
        "email": "ada@example.org",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone": "+15550100",
        "birth_date": "1990-05-17",
        "tier": {"code": "bronze", "name": "Bronze"},
        "points": {"available": 0, "pending": 0},
        "next_tier": {"code": "silver", "name": "Silver", "spend_needed": "500.00"},
        "expiring": [],
        "referral_code": member.referral_code,
        "membership": None,
    }
    assert member.enrolled_store == store and str(member.birth_date) == "1990-05-17"


def test_a_known_email_is_a_409_member_exists(api_client, program):
    api_client.post(URL, enrol_payload(), format="json")

    response = api_client.post(URL, enrol_payload(email="ada@EXAMPLE.org", first_name="Other"), format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "member_exists"
    assert Member.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"first_name": "   "}, "first_name"),
        ({"first_name": 12}, "first_name"),
        ({"birth_date": "17/05/1990"}, "birth_date"),
        ({"phone": "x" * 40}, "phone"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(api_client, program, payload, field):
    response = api_client.post(URL, enrol_payload(**payload), format="json")

    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Member.objects.exists()


def test_without_a_key_it_is_a_401(anonymous_client, program):
    response = anonymous_client.post(URL, enrol_payload(), format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert not Member.objects.exists()


def test_a_referral_code_links_the_referrer(api_client, member):
    response = api_client.post(URL, enrol_payload(referral_code=member.referral_code.lower()), format="json")

    assert response.status_code == 201
    assert Member.objects.get(email="ada@example.org").referred_by == member


def test_enrolling_pays_the_sign_up_bonus_after_commit(
    api_client, program, django_capture_on_commit_callbacks
):
    ActionRule.objects.create(kind=ActionRule.Kind.SIGNUP, name="Welcome", points=100)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(URL, enrol_payload(), format="json")

    member = Member.objects.get(member_number=response.json()["member_number"])
    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.source_type, entry.idempotency_key) == (
        "bonus",
        100,
        "activity",
        f"signup:{member.pk}",
    )
    assert member.points_available == 100


def test_reading_a_member_shows_points_next_tier_and_expiring_points(api_client, member, store):
    credit(member, 40, "a", earned_at=NOW - timedelta(days=300))
    credit(member, 60, "b", available_at=NOW + timedelta(days=5))
    Purchase.objects.create(
        member=member,
        store=store,
        external_id="x",
        amount=Decimal("120.00"),
        currency="USD",
        purchased_at=NOW - timedelta(days=3),
        available_at=NOW + timedelta(days=11),
    )

    response = api_client.get(f"{URL}{member.member_number}/")

    assert response.status_code == 200
    body = response.json()
    assert body["points"] == {"available": 40, "pending": 60}
    assert body["next_tier"] == {"code": "silver", "name": "Silver", "spend_needed": "380.00"}
    assert body["expiring"] == [
        {"points": 40, "expires_at": (NOW + timedelta(days=65)).date().isoformat()},
        {"points": 60, "expires_at": (NOW + timedelta(days=365)).date().isoformat()},
    ]


def test_at_the_top_tier_next_tier_is_null(api_client, member):
    member.tier = Tier.objects.get(code="platinum")
    member.save()

    assert api_client.get(f"{URL}{member.member_number}/").json()["next_tier"] is None


def test_an_unknown_member_is_a_404(api_client, program):
    for number in ["0000000000", "x" * 40]:
        response = api_client.get(f"{URL}{number}/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert api_client.get(f"{URL}0000000000/transactions/").status_code == 404


def test_reading_a_member_takes_a_fixed_number_of_queries(api_client, member, django_assert_max_num_queries):
    for i in range(30):
        credit(member, 10, f"k{i}", earned_at=NOW - timedelta(days=i))

    api_client.get(f"{URL}{member.member_number}/")  # the process keeps the key and the tiers

    # The member, the qualifying value and the expiring points: at most 4.
    with django_assert_max_num_queries(4):
        response = api_client.get(f"{URL}{member.member_number}/")

    assert len(response.json()["expiring"]) == 3


def test_transactions_are_newest_first_and_paged(api_client, member, django_assert_max_num_queries):
    for i in range(60):
        credit(member, i + 1, f"k{i}", now=NOW + timedelta(minutes=i), description=f"credit {i}")

    # The key lookup, its coarse last-used stamp, the member, one page of entries.
    with django_assert_max_num_queries(4):
        first = api_client.get(f"{URL}{member.member_number}/transactions/")

    assert first.status_code == 200
    page = first.json()
    assert len(page["results"]) == 50
    assert page["results"][0] == {
        "kind": "earn",
        "points": 60,
        "balance_after": sum(range(1, 61)),
        "created_at": (NOW + timedelta(minutes=59)).isoformat().replace("+00:00", "Z"),
        "description": "credit 59",
    }
    assert [e["points"] for e in page["results"]] == list(range(60, 10, -1))
    with django_assert_max_num_queries(3):
        second = api_client.get(page["next"]).json()
    assert [e["points"] for e in second["results"]] == list(range(10, 0, -1))
    assert second["next"] is None


def test_another_stores_key_sees_the_same_member(other_store_client, member):
    # A coalition: every store of the program serves every member.
    credit(member, 5, "k")

    response = other_store_client.get(f"{URL}{member.member_number}/transactions/")

    assert response.status_code == 200 and len(response.json()["results"]) == 1


def test_a_member_with_no_entries_has_an_empty_first_page(api_client, program):
    member = factories.MemberFactory()

    assert api_client.get(f"{URL}{member.member_number}/transactions/").json() == {
        "results": [],
        "next": None,
    }
