"""The rewards rows of the API contract: the catalog, redeeming, cancelling and using vouchers,
each error code, the ledger after every test, query counts, and a schemathesis run over these
endpoints in-process."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member
from rewards.models import Redemption, Reward
from rewards.services import reward_redeem
from tests.factories import MemberFactory
from tests.rewards.support import balances, fund, lot_remaining, make_reward, set_tier

REDEMPTIONS = "/api/v1/redemptions/"


@pytest.fixture
def rewards(program):
    from rewards.demo import seed_program

    seed_program()
    return {reward.code: reward for reward in Reward.objects.all()}


@pytest.fixture(autouse=True)
def ledger_checked(db):
    yield
    assert ledger_violations() == []


def redeem(client, member, reward, **extra):
    return client.post(
        REDEMPTIONS, {"member": member.member_number, "reward": reward, **extra}, format="json"
    )


def error_code(response) -> str:
    return response.json()["error"]["code"]


# --- GET /api/v1/rewards/ --------------------------------------------------------------------


def test_the_catalog_lists_active_rewards(api_client, rewards, django_assert_max_num_queries):
    make_reward("withdrawn", is_active=False)
    make_reward("sold-out", stock=0, points_cost=75, cash_value="1.50")
    for i in range(10):
        make_reward(f"extra-{i}", min_tier="silver")

    with django_assert_max_num_queries(3):
        response = api_client.get("/api/v1/rewards/")

    assert response.status_code == 200
    by_code = {row["code"]: row for row in response.json()}
    assert "withdrawn" not in by_code
    assert len(by_code) == 15
    assert {
        k: by_code["voucher-5"][k] for k in ["name", "kind", "points_cost", "cash_value", "min_tier"]
    } == {
        "name": "$5 off your next purchase",
        "kind": "fixed_voucher",
        "points_cost": 500,
        "cash_value": "5.00",
        "min_tier": None,
    }
    assert (by_code["vip-event"]["min_tier"], by_code["vip-event"]["in_stock"]) == ("gold", True)
    assert (by_code["sold-out"]["in_stock"], by_code["free-coffee"]["in_stock"]) == (False, True)
    assert by_code["free-coffee"]["image_url"] == "/static/rewards/free-coffee.svg"


def test_every_rewards_endpoint_needs_a_key(anonymous_client, rewards):
    responses = [
        anonymous_client.get("/api/v1/rewards/"),
        anonymous_client.post(REDEMPTIONS, {}, format="json"),
        anonymous_client.post("/api/v1/redemptions/1/cancel/"),
        anonymous_client.post("/api/v1/vouchers/AAAA-BBBB-CCCC/use/"),
    ]

    assert [(r.status_code, error_code(r)) for r in responses] == [(401, "unauthenticated")] * 4


# --- POST /api/v1/redemptions/ ---------------------------------------------------------------


def test_redeeming_answers_201_with_the_voucher(
    api_client, store, member, rewards, mailoutbox, django_capture_on_commit_callbacks
):
    soon = fund(member, 300, "soon", expires_in_days=30)
    late = fund(member, 300, "late", expires_in_days=300)

    with django_capture_on_commit_callbacks(execute=True):
        response = redeem(api_client, member, "voucher-5")

    assert response.status_code == 201
    body = response.json()
    redemption = Redemption.objects.get()
    assert body["id"] == redemption.pk
    assert (body["reward"], body["points_spent"], body["status"]) == ("voucher-5", 500, "issued")
    assert body["voucher_code"] == redemption.voucher_code
    assert parse_datetime(body["expires_at"]) == redemption.expires_at
    assert redemption.store == store
    assert lot_remaining(soon, late) == [0, 100]
    assert balances(member) == (100, 0)
    entry = LedgerEntry.objects.get(kind="redeem")
    assert (entry.points, entry.source_type, entry.source_id) == (-500, "redemption", str(redemption.pk))
    assert [m.subject for m in mailoutbox] == [
        f"Your $5 off your next purchase voucher: {redemption.voucher_code}"
    ]


def test_redeeming_takes_a_fixed_number_of_queries(
    api_client, member, rewards, django_assert_max_num_queries
):
    fund(member, 5000, "p")
    redeem(api_client, member, "free-coffee")  # warm the key's last-used stamp

    with django_assert_max_num_queries(22):
        response = redeem(api_client, member, "free-coffee")

    assert response.status_code == 201


def test_the_same_idempotency_key_answers_200_with_the_same_redemption(api_client, member, rewards):
    fund(member, 1000, "p")

    first = redeem(api_client, member, "voucher-5", idempotency_key="till-7-0001")
    again = redeem(api_client, member, "voucher-5", idempotency_key="till-7-0001")
    other = redeem(api_client, member, "free-coffee", idempotency_key="till-7-0001")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert (other.status_code, error_code(other)) == (409, "idempotency_conflict")
    assert Redemption.objects.count() == 1
    assert balances(member) == (500, 0)


def test_keys_of_two_stores_do_not_collide(api_client, other_store_client, member, rewards):
    fund(member, 1000, "p")

    assert redeem(api_client, member, "voucher-5", idempotency_key="k1").status_code == 201
    assert redeem(other_store_client, member, "voucher-5", idempotency_key="k1").status_code == 201
    assert balances(member) == (0, 0)


def test_too_few_points_is_409_insufficient_points(api_client, member, rewards):
    fund(member, 499, "p")

    response = redeem(api_client, member, "voucher-5")

    assert (response.status_code, error_code(response)) == (409, "insufficient_points")
    assert balances(member) == (499, 0)
    assert Redemption.objects.count() == 0


def test_no_stock_left_is_409_out_of_stock(api_client, member, rewards):
    fund(member, 1000, "p")
    Reward.objects.filter(code="free-coffee").update(stock=0)

    response = redeem(api_client, member, "free-coffee")

    assert (response.status_code, error_code(response)) == (409, "out_of_stock")
    assert balances(member) == (1000, 0)


def test_a_tier_too_low_is_409_tier_required(api_client, member, rewards):
    fund(member, 3000, "p")
    set_tier(member, "silver")

    response = redeem(api_client, member, "vip-event")

    assert (response.status_code, error_code(response)) == (409, "tier_required")
    assert Reward.objects.get(code="vip-event").stock == 20
    assert balances(member) == (3000, 0)


def test_past_the_per_member_limit_is_409_limit_reached(api_client, member, program):
    fund(member, 1000, "p")
    make_reward("one-each", per_member_limit=1)
    assert redeem(api_client, member, "one-each").status_code == 201

    response = redeem(api_client, member, "one-each")

    assert (response.status_code, error_code(response)) == (409, "limit_reached")
    assert balances(member) == (900, 0)


def test_outside_its_window_is_409_reward_unavailable(api_client, member, program):
    fund(member, 1000, "p")
    make_reward("next-week", available_from=timezone.now() + timedelta(days=7))

    response = redeem(api_client, member, "next-week")

    assert (response.status_code, error_code(response)) == (409, "reward_unavailable")


def test_a_suspended_member_is_409_member_inactive(api_client, member, rewards):
    fund(member, 1000, "p")
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)

    response = redeem(api_client, member, "free-coffee")

    assert (response.status_code, error_code(response)) == (409, "member_inactive")


def test_unknown_member_unknown_reward_and_inactive_reward_are_404(api_client, member, rewards):
    fund(member, 1000, "p")
    Reward.objects.filter(code="voucher-20").update(is_active=False)
    responses = [
        api_client.post(REDEMPTIONS, {"member": "0000000000", "reward": "voucher-5"}, format="json"),
        redeem(api_client, member, "no-such-reward"),
        redeem(api_client, member, "voucher-20"),
    ]

    assert [(r.status_code, error_code(r)) for r in responses] == [(404, "not_found")] * 3
    assert balances(member) == (1000, 0)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"member": "123"},
        {"reward": "voucher-5"},
        {"member": ["x"], "reward": "voucher-5"},
        {"member": "1", "reward": "voucher-5", "idempotency_key": "k" * 201},
        {"member": "1", "reward": "voucher-5", "idempotency_key": ""},
    ],
)
def test_bad_input_is_400_invalid(api_client, rewards, body):
    response = api_client.post(REDEMPTIONS, body, format="json")

    assert (response.status_code, error_code(response)) == (400, "invalid")
    assert response.json()["error"]["fields"]


# --- POST /api/v1/redemptions/{id}/cancel/ ---------------------------------------------------


def test_cancelling_answers_200_and_returns_the_points(
    api_client, member, rewards, django_assert_max_num_queries
):
    lot = fund(member, 200, "p")
    created = redeem(api_client, member, "free-coffee").json()

    # 21: the redemption.cancelled event is one INSERT into the outbox.
    with django_assert_max_num_queries(21):
        response = api_client.post(f"/api/v1/redemptions/{created['id']}/cancel/")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["status"], body["points_returned"]) == (created["id"], "cancelled", 150)
    assert balances(member) == (200, 0)
    assert lot_remaining(lot) == [200]
    assert Reward.objects.get(code="free-coffee").stock == 100
    assert LedgerEntry.objects.filter(kind="reversal", source_id=str(created["id"])).count() == 1
    again = api_client.post(f"/api/v1/redemptions/{created['id']}/cancel/")
    assert (again.status_code, again.json()["status"]) == (200, "cancelled")
    assert balances(member) == (200, 0)


def test_a_used_redemption_is_409_not_cancellable(api_client, member, rewards):
    fund(member, 200, "p")
    created = redeem(api_client, member, "free-coffee").json()
    api_client.post(f"/api/v1/vouchers/{created['voucher_code']}/use/")

    response = api_client.post(f"/api/v1/redemptions/{created['id']}/cancel/")

    assert (response.status_code, error_code(response)) == (409, "not_cancellable")
    assert balances(member) == (50, 0)


def test_another_stores_or_an_unknown_redemption_is_404(api_client, other_store_client, member, rewards):
    fund(member, 200, "p")
    created = redeem(other_store_client, member, "free-coffee").json()

    responses = [
        api_client.post(f"/api/v1/redemptions/{created['id']}/cancel/"),
        api_client.post("/api/v1/redemptions/999999999/cancel/"),
        api_client.post(f"/api/v1/redemptions/{2**70}/cancel/"),
    ]

    assert [(r.status_code, error_code(r)) for r in responses] == [(404, "not_found")] * 3
    assert Redemption.objects.get().status == "issued"


def test_a_redemption_made_in_the_portal_is_404_to_every_store(api_client, member, rewards):
    fund(member, 200, "p")
    redemption = reward_redeem(member_id=member.pk, reward_code="free-coffee", notify=False).redemption

    response = api_client.post(f"/api/v1/redemptions/{redemption.pk}/cancel/")

    assert (response.status_code, error_code(response)) == (404, "not_found")
    assert Redemption.objects.get().status == "issued"
    assert balances(member) == (50, 0)


# --- POST /api/v1/vouchers/{code}/use/ -------------------------------------------------------


def test_using_a_voucher_answers_200_used_then_409_voucher_used(
    api_client, other_store_client, other_store, member, rewards, django_assert_max_num_queries
):
    fund(member, 200, "p")
    code = redeem(api_client, member, "free-coffee").json()["voucher_code"]
    other_store_client.get("/api/v1/rewards/")  # warm the key's last-used stamp

    with django_assert_max_num_queries(6):
        response = other_store_client.post(f"/api/v1/vouchers/{code.lower().replace('-', '')}/use/")
    again = api_client.post(f"/api/v1/vouchers/{code}/use/")

    assert response.status_code == 200
    assert response.json()["status"] == "used"
    assert (again.status_code, error_code(again)) == (409, "voucher_used")
    redemption = Redemption.objects.get()
    assert (redemption.status, redemption.used_store) == ("used", other_store)
    assert balances(member) == (50, 0)


def test_an_expired_voucher_is_409_voucher_expired(api_client, member, rewards):
    fund(member, 200, "p")
    code = redeem(api_client, member, "free-coffee").json()["voucher_code"]
    Redemption.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = api_client.post(f"/api/v1/vouchers/{code}/use/")

    assert (response.status_code, error_code(response)) == (409, "voucher_expired")
    assert Redemption.objects.get().status == "issued"


def test_a_cancelled_voucher_is_409_voucher_cancelled(api_client, member, rewards):
    fund(member, 200, "p")
    created = redeem(api_client, member, "free-coffee").json()
    api_client.post(f"/api/v1/redemptions/{created['id']}/cancel/")

    response = api_client.post(f"/api/v1/vouchers/{created['voucher_code']}/use/")

    assert (response.status_code, error_code(response)) == (409, "voucher_cancelled")


@pytest.mark.parametrize("code", ["AAAA-BBBB-CCCC", "x", "%C3%A9t%C3%A9", "A" * 300, "%00"])
def test_an_unknown_voucher_is_404(api_client, rewards, code):
    response = api_client.post(f"/api/v1/vouchers/{code}/use/")

    assert (response.status_code, error_code(response)) == (404, "not_found")


# --- the whole flow, and fuzzing -------------------------------------------------------------


def test_a_member_redeems_cancels_redeems_and_uses(api_client, rewards):
    member = MemberFactory()
    fund(member, 700, "p")
    first = redeem(api_client, member, "voucher-5").json()
    api_client.post(f"/api/v1/redemptions/{first['id']}/cancel/")
    second = redeem(api_client, member, "voucher-5").json()
    used = api_client.post(f"/api/v1/vouchers/{second['voucher_code']}/use/")

    assert used.json()["status"] == "used"
    assert first["voucher_code"] != second["voucher_code"]
    assert balances(member) == (200, 0)
    history = list(LedgerEntry.objects.filter(member=member).order_by("id").values_list("kind", "points"))
    assert history == [("earn", 700), ("redeem", -500), ("reversal", 500), ("redeem", -500)]


@pytest.fixture
def wsgi_app():
    """The real WSGI application, kept from closing the test's connection between requests
    (Django's test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.core.wsgi import get_wsgi_application
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def test_schemathesis_finds_no_server_error(wsgi_app, api_key, member, rewards):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    fund(member, 100000, "p")
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", wsgi_app).include(
        path_regex=r"^/api/v1/(rewards|redemptions|vouchers)/"
    )
    headers = {"Authorization": f"Bearer {api_key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {
        "/api/v1/rewards/",
        "/api/v1/redemptions/",
        "/api/v1/redemptions/{redemption_id}/cancel/",
        "/api/v1/vouchers/{voucher_code}/use/",
    }
    statuses: set[int] = set()
    known = st.fixed_dictionaries(
        {"member": st.just(member.member_number), "reward": st.sampled_from(sorted(rewards))}
    )

    def with_known(case, real):
        # Half the bodies name a real member and reward, so the 201 and 409 paths are fuzzed too.
        if real is not None and isinstance(case.body, dict):
            case.body = {**case.body, **real}
        return case

    for operation in operations:
        generated = operation.as_strategy() | operation.as_strategy(
            generation_mode=schemathesis.GenerationMode.NEGATIVE
        )
        cases = st.builds(with_known, generated, st.none() | known)

        @given(case=cases)
        @settings(
            max_examples=60,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            response = case.call(headers=headers)
            statuses.add(response.status_code)
            assert response.status_code < 500, (case.path, case.body, response.text[:500])
            if response.status_code >= 400:
                assert set(response.json()["error"]) >= {"code", "message"}

        check()
    assert {200, 201, 400, 404} <= statuses
