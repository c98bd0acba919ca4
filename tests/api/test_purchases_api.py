"""POST /api/v1/purchases/ and POST /api/v1/purchases/{external_id}/refunds/ through HTTP: the
points, the awards, idempotency (also under concurrent replays), refunds (partial, full, after
spending) and every error code the contract names."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from campaigns.models import Campaign
from members.errors import InsufficientPoints
from members.ledger.invariants import ledger_violations
from members.ledger.services import points_debit
from members.models import LedgerEntry, Member, PointLot, Purchase, Refund, Tier, TierChange
from members.tiers import qualifying_value
from tests import factories
from tests.api.conftest import client_with_key

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)
URL = "/api/v1/purchases/"


def purchase_payload(member: Member, external_id: str = "T-1", amount: str = "100.00", **extra) -> dict:
    return {
        "member": member.member_number,
        "external_id": external_id,
        "amount": amount,
        "currency": "USD",
        "purchased_at": (NOW - timedelta(hours=1)).isoformat(),
        **extra,
    }


def refund_url(purchase_external_id: str) -> str:
    return f"{URL}{purchase_external_id}/refunds/"


def refresh(member: Member) -> Member:
    member.refresh_from_db()
    return member


def campaign(**fields) -> Campaign:
    defaults = {
        "code": fields.get("code", "double"),
        "name": fields.get("name", "Double points"),
        "kind": Campaign.Kind.MULTIPLIER,
        "multiplier": Decimal("2"),
        "starts_at": NOW - timedelta(days=1),
        "ends_at": NOW + timedelta(days=1),
    }
    return Campaign.objects.create(**{**defaults, **fields})


# --- purchases ------------------------------------------------------------------------------


def test_a_purchase_earns_the_base_rate_pending_through_the_return_window(api_client, member):
    response = api_client.post(URL, purchase_payload(member, amount="123.45"), format="json")

    assert response.status_code == 201
    body = response.json()
    purchased_at = NOW - timedelta(hours=1)
    assert body["points_awarded"] == 123
    assert body["awards"] == [{"source": "base", "points": 123}]
    assert parse_datetime(body["available_at"]) == purchased_at + timedelta(days=14)
    assert (body["external_id"], body["amount"], body["member"]) == ("T-1", "123.45", member.member_number)
    member = refresh(member)
    assert (member.points_available, member.points_pending) == (0, 123)
    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.source_type) == ("earn", 123, "purchase")
    lot = PointLot.objects.get(entry=entry)
    assert lot.is_pending and lot.expires_at == purchased_at + timedelta(days=365)
    assert ledger_violations() == []


def test_points_round_down_per_line(api_client, member):
    lines = [
        {"sku": "A-1", "category": "coffee", "quantity": "1", "amount": "10.99"},
        {"sku": "B-2", "category": "books", "quantity": "2", "amount": "20.99"},
    ]
    response = api_client.post(URL, purchase_payload(member, amount="31.98", lines=lines), format="json")

    assert response.status_code == 201
    assert response.json()["points_awarded"] == 30  # 10 + 20, not floor(31.98)
    purchase = Purchase.objects.get(external_id="T-1")
    assert sorted(purchase.lines.values_list("sku", "points_awarded")) == [("A-1", 10), ("B-2", 20)]


def test_the_tier_multiplier_and_each_campaign_are_listed_as_awards(api_client, member):
    member.tier = Tier.objects.get(code="silver")
    member.save()
    campaign(code="double", priority=10)
    campaign(code="bonus-25", name="25 bonus", kind=Campaign.Kind.FIXED_BONUS, bonus_points=25, priority=5)

    response = api_client.post(URL, purchase_payload(member, amount="100.00"), format="json")

    assert response.status_code == 201
    body = response.json()
    # 100 x 1 x 1.25 = 125; x 2 = 250 (+125 from the campaign); + 25 fixed.
    assert body["awards"] == [
        {"source": "base", "points": 100},
        {"source": "tier:silver", "points": 25},
        {"source": "campaign:double", "points": 125},
        {"source": "campaign:bonus-25", "points": 25},
    ]
    assert body["points_awarded"] == 275
    assert refresh(member).points_pending == 275
    kinds = sorted(LedgerEntry.objects.filter(member=member).values_list("kind", "points"))
    assert kinds == [("bonus", 150), ("earn", 125)]  # every campaign's points in one entry
    assert set(LedgerEntry.objects.values_list("source_type", flat=True)) == {"purchase"}


def test_a_purchase_crossing_a_threshold_upgrades_at_once_but_earns_at_the_old_rate(api_client, member):
    response = api_client.post(URL, purchase_payload(member, amount="600.00"), format="json")

    assert response.status_code == 201
    assert response.json()["points_awarded"] == 600  # bronze x1.0, not silver x1.25
    member = refresh(member)
    assert member.tier.code == "silver"
    change = TierChange.objects.get(member=member, reason=TierChange.Reason.PURCHASE)
    assert change.to_tier.code == "silver" and change.qualifying_value == Decimal("600.00")

    second = api_client.post(URL, purchase_payload(member, "T-2", amount="100.00"), format="json")
    assert second.json()["points_awarded"] == 125  # the next purchase earns at silver


def test_a_replay_answers_200_with_the_first_answer_and_credits_nothing(api_client, member):
    first = api_client.post(URL, purchase_payload(member), format="json")
    entries = LedgerEntry.objects.count()

    replay = api_client.post(URL, purchase_payload(member), format="json")

    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json() == first.json()
    assert LedgerEntry.objects.count() == entries
    assert refresh(member).points_pending == 100


def test_the_same_external_id_with_another_payload_is_a_409(api_client, member):
    api_client.post(URL, purchase_payload(member), format="json")

    response = api_client.post(URL, purchase_payload(member, amount="99.00"), format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "duplicate_external_id"
    assert Purchase.objects.count() == 1 and refresh(member).points_pending == 100


def test_another_store_may_use_the_same_external_id(api_client, other_store_client, member):
    api_client.post(URL, purchase_payload(member), format="json")

    response = other_store_client.post(URL, purchase_payload(member), format="json")

    assert response.status_code == 201
    assert Purchase.objects.filter(external_id="T-1").count() == 2
    assert refresh(member).points_pending == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"purchased_at": "yesterday"}, "purchased_at"),
        ({"external_id": ""}, "external_id"),
        ({"currency": "EUR"}, "currency"),
        ({"lines": [{"amount": "1.00"}]}, "lines"),
        ({"purchased_at": (NOW + timedelta(days=2)).isoformat()}, "purchased_at"),
    ],
)
def test_invalid_input_is_a_400_naming_the_field(api_client, member, change, field):
    response = api_client.post(URL, {**purchase_payload(member), **change}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert not Purchase.objects.exists() and not LedgerEntry.objects.exists()


def test_an_unknown_member_is_a_404(api_client, program):
    payload = purchase_payload(Member(member_number="999"))

    response = api_client.post(URL, payload, format="json")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_no_key_or_a_revoked_key_is_a_401(anonymous_client, member, store, api_key):
    from members.api_keys import api_key_revoke
    from members.models import ApiKey

    assert anonymous_client.post(URL, purchase_payload(member), format="json").status_code == 401
    api_key_revoke(key=ApiKey.objects.get(store=store))
    response = client_with_key(api_key).post(URL, purchase_payload(member), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert not Purchase.objects.exists()


def queries_of_a_purchase(api_client, member, **payload) -> list[str]:
    """The queries of one purchase once the process has warmed up (its key, the program, the
    tiers and the campaigns kept): a first purchase warms it."""
    warm_up = purchase_payload(member, f"warm-up-{payload['external_id']}", amount="1.00")
    api_client.post(URL, warm_up, format="json")
    with CaptureQueriesContext(connection) as captured:
        response = api_client.post(URL, purchase_payload(member, **payload), format="json")
    assert response.status_code == 201, response.content
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # the request's own transaction, not a savepoint in the test's
def test_a_purchase_with_no_campaign_takes_at_most_8_queries(
    api_client, program, django_assert_max_num_queries, monkeypatch
):
    # The outbox's dispatch runs on a Celery worker after the commit, not in the request (the
    # test settings run tasks eagerly, inside the request's on_commit).
    from members.webhooks import tasks

    dispatched = []
    monkeypatch.setattr(tasks.webhook_events_dispatch_task, "delay", lambda *a, **k: dispatched.append(a))
    member = factories.MemberFactory()
    api_client.post(URL, purchase_payload(member, "warm-up", amount="1.00"), format="json")

    with django_assert_max_num_queries(8) as captured:
        response = api_client.post(URL, purchase_payload(member), format="json")

    assert response.status_code == 201
    statements = [query["sql"] for query in captured.captured_queries]
    # BEGIN, the member locked with the replay look-up and the paid plan, the purchase with its
    # points and its purchase.recorded outbox row, COMMIT.
    assert len(statements) == 4, statements
    assert any("members_webhookevent" in sql for sql in statements) and dispatched
    assert statements[0] == "BEGIN" and statements[-1] == "COMMIT"
    assert not any("SAVEPOINT" in sql for sql in statements)
    assert ledger_violations() == []


@pytest.mark.parametrize("lines", [0, 10])
def test_each_campaign_adds_no_query(api_client, member, lines):
    """Campaigns of every kind, some capped per member (the caps are read once, whatever their
    number); budgets aside, which take their points with one UPDATE each."""

    def campaigns(count: int) -> None:
        Campaign.objects.update(is_active=False)
        for i in range(count):
            campaign(
                code=f"c{count}-{i}",
                kind=Campaign.Kind.FIXED_BONUS if i % 2 else Campaign.Kind.MULTIPLIER,
                bonus_points=10,
                per_member_cap=1000 if i % 3 == 0 else None,
            )

    extra = {"lines": [{"category": f"c{i}", "amount": "10.00"} for i in range(lines)]} if lines else {}
    counts = []
    for number, external_id in ((1, "T-1"), (6, "T-6")):
        campaigns(number)
        counts.append(len(queries_of_a_purchase(api_client, member, external_id=external_id, **extra)))

    assert counts[0] == counts[1]
    if connection.vendor == "postgresql":
        assert counts[0] <= 5  # the 4 of a purchase, and the one read of the caps when one gives


def test_a_replay_takes_at_most_5_queries(api_client, member, django_assert_max_num_queries):
    api_client.post(URL, purchase_payload(member), format="json")

    with django_assert_max_num_queries(5):
        replay = api_client.post(URL, purchase_payload(member), format="json")

    assert replay.status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_replays_credit_once(api_key, program, threads):
    member = factories.MemberFactory()
    payload = purchase_payload(member, amount="250.00")

    results = threads(10, lambda i: client_with_key(api_key).post(URL, payload, format="json"))

    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] * 9 + [201]
    assert len({str(r.json()) for r in results}) == 1
    assert Purchase.objects.count() == 1
    assert LedgerEntry.objects.filter(member=member).count() == 1
    assert refresh(member).points_pending == 250
    assert ledger_violations() == []


# --- refunds --------------------------------------------------------------------------------


def test_partial_refunds_reverse_cumulatively_and_a_full_refund_reverses_exactly_what_was_awarded(
    api_client, member
):
    campaign(code="double")
    api_client.post(URL, purchase_payload(member, amount="99.99"), format="json")  # 99 + (199 - 99)
    assert refresh(member).points_pending == 199

    first = api_client.post(refund_url("T-1"), {"external_id": "R-1", "amount": "33.33"}, format="json")
    second = api_client.post(refund_url("T-1"), {"external_id": "R-2", "amount": "33.33"}, format="json")
    third = api_client.post(refund_url("T-1"), {"external_id": "R-3", "amount": "33.33"}, format="json")

    assert [r.status_code for r in (first, second, third)] == [201, 201, 201]
    # floor(199 x 33.33 / 99.99) = 66; floor(199 x 66.66 / 99.99) = 132 -> 66; then 199 -> 67.
    assert [r.json()["points_reversed"] for r in (first, second, third)] == [66, 66, 67]
    purchase = Purchase.objects.get(external_id="T-1")
    assert (purchase.refunded_amount, purchase.points_reversed) == (Decimal("99.99"), 199)
    member = refresh(member)
    assert (member.points_available, member.points_pending) == (0, 0)
    assert qualifying_value(member) == Decimal("0")
    assert ledger_violations() == []


def test_a_refund_rounds_down_what_it_reverses_cumulatively(api_client, member):
    api_client.post(URL, purchase_payload(member, amount="10.00"), format="json")

    amounts = ["3.00", "3.00", "4.00"]
    reversed_ = [
        api_client.post(refund_url("T-1"), {"external_id": f"R-{i}", "amount": a}, format="json").json()[
            "points_reversed"
        ]
        for i, a in enumerate(amounts)
    ]

    assert reversed_ == [3, 3, 4]
    assert Purchase.objects.get().refunded_amount == Decimal("10.00")


def test_a_refund_replay_answers_200_and_changes_nothing(api_client, member):
    api_client.post(URL, purchase_payload(member), format="json")
    first = api_client.post(refund_url("T-1"), {"external_id": "R-1", "amount": "50.00"}, format="json")
    entries = LedgerEntry.objects.count()

    replay = api_client.post(refund_url("T-1"), {"external_id": "R-1", "amount": "50.00"}, format="json")
    conflict = api_client.post(refund_url("T-1"), {"external_id": "R-1", "amount": "10.00"}, format="json")

    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay.json() == first.json()
    assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "duplicate_external_id"
    assert LedgerEntry.objects.count() == entries
    assert Purchase.objects.get().refunded_amount == Decimal("50.00")


def test_refunding_more_than_is_left_is_a_400(api_client, member):
    api_client.post(URL, purchase_payload(member), format="json")
    api_client.post(refund_url("T-1"), {"external_id": "R-1", "amount": "80.00"}, format="json")

    response = api_client.post(refund_url("T-1"), {"external_id": "R-2", "amount": "20.01"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert Refund.objects.count() == 1 and Purchase.objects.get().refunded_amount == Decimal("80.00")


def test_a_refund_only_finds_the_calling_stores_purchases(api_client, other_store_client, member):
    api_client.post(URL, purchase_payload(member), format="json")

    response = other_store_client.post(
        refund_url("T-1"), {"external_id": "R-1", "amount": "5.00"}, format="json"
    )
    unknown = api_client.post(refund_url("NOPE"), {"external_id": "R-1", "amount": "5.00"}, format="json")

    assert (response.status_code, unknown.status_code) == (404, 404)
    assert response.json()["error"]["code"] == "not_found"
    assert not Refund.objects.exists()


def test_a_refund_after_spending_leaves_a_debt_and_the_member_cannot_redeem(api_client, member):
    api_client.post(
        URL,
        purchase_payload(member, amount="300.00", purchased_at=(NOW - timedelta(days=20)).isoformat()),
        format="json",
    )
    from members.jobs import release_pending_points

    release_pending_points(as_of=NOW)
    points_debit(member_id=member.pk, points=250, idempotency_key="spend", source_type="redemption")

    response = api_client.post(refund_url("T-1"), {"external_id": "R-1", "amount": "300.00"}, format="json")

    assert response.status_code == 201 and response.json()["points_reversed"] == 300
    member = refresh(member)
    assert member.points_available == -250
    with pytest.raises(InsufficientPoints):
        points_debit(member_id=member.pk, points=1, idempotency_key="again", source_type="redemption")
    assert ledger_violations() == []
    detail = api_client.get(f"/api/v1/members/{member.member_number}/").json()
    assert detail["points"] == {"available": -250, "pending": 0}


def test_a_refund_takes_a_bounded_number_of_queries(api_client, member, django_assert_max_num_queries):
    api_client.post(URL, purchase_payload(member), format="json")

    # 27: the purchase.refunded event is one INSERT into the outbox.
    with django_assert_max_num_queries(27):
        response = api_client.post(
            refund_url("T-1"), {"external_id": "R-1", "amount": "50.00"}, format="json"
        )

    assert response.status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_concurrent_refund_replays_reverse_once(api_key, program, threads):
    member = factories.MemberFactory()
    client_with_key(api_key).post(URL, purchase_payload(member, amount="100.00"), format="json")
    body = {"external_id": "R-1", "amount": "40.00"}

    results = threads(10, lambda i: client_with_key(api_key).post(refund_url("T-1"), body, format="json"))

    assert sorted(r.status_code for r in results) == [200] * 9 + [201]
    assert Refund.objects.count() == 1
    assert LedgerEntry.objects.filter(member=member, kind="reversal").count() == 1
    assert refresh(member).points_pending == 60


@pytest.mark.parametrize("same_payload", [True, False])
def test_a_key_taken_while_the_purchase_worked_rolls_it_all_back(
    api_client, member, monkeypatch, same_payload
):
    """The race ``record_once`` closes without a savepoint: another request commits the same
    external id after this one's look-up. This one's insert meets the key, its whole transaction
    (campaign budget included) rolls back, and it answers from a fresh read: the first answer
    for the same payload, 409 for another."""
    from campaigns.services import purchases

    budgeted = campaign(code="bonus", kind=Campaign.Kind.FIXED_BONUS, bonus_points=10, budget_points=100)
    first = api_client.post(URL, purchase_payload(member), format="json").json()
    lock = purchases._lock_member
    monkeypatch.setattr(
        purchases,
        "_lock_member",
        lambda store, purchase: dataclasses.replace(lock(store, purchase), earlier_id=None),  # missed it
    )
    entries, spent = LedgerEntry.objects.count(), Campaign.objects.get(pk=budgeted.pk).spent_points

    again = purchase_payload(member) if same_payload else purchase_payload(member, amount="99.00")
    response = api_client.post(URL, again, format="json")

    if same_payload:
        assert response.status_code == 200 and response.json() == first
    else:
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "duplicate_external_id"
    assert LedgerEntry.objects.count() == entries and Purchase.objects.count() == 1
    assert Campaign.objects.get(pk=budgeted.pk).spent_points == spent == 10
    assert ledger_violations() == []
