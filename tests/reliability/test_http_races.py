"""Races through the whole HTTP stack: real requests from many threads against the live,
threaded server on PostgreSQL. Whatever the interleaving, no balance goes below zero, no
purchase or refund credits twice, and every ledger invariant holds afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member, Purchase, Refund
from rewards.models import Redemption, Reward
from tests.factories import MemberFactory
from tests.rewards.support import fund, make_reward

from .conftest import statuses

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 16


def error_codes(responses) -> dict[str, int]:
    counts: dict[str, int] = {}
    for response in responses:
        if response.status_code >= 400:
            code = response.json()["error"]["code"]
            counts[code] = counts.get(code, 0) + 1
    return counts


def member_balance(member: Member) -> int:
    member.refresh_from_db()
    return member.points_available


def a_month_ago() -> str:
    return (timezone.now() - timedelta(days=30)).isoformat()


@pytest.fixture(autouse=True)
def ledger_holds_after_every_race():
    yield
    assert ledger_violations() == []


def test_redemptions_racing_for_one_balance_never_overdraw_it(live_api, threads):
    make_reward("coffee", points_cost=150)
    member = MemberFactory()
    fund(member, 500, "gift")  # enough for three, not four
    till = live_api()

    answers = threads(
        THREADS,
        lambda i: till.post("/api/v1/redemptions/", {"member": member.member_number, "reward": "coffee"}),
    )

    assert statuses(answers) == {201: 3, 409: THREADS - 3}
    assert error_codes(answers) == {"insufficient_points": THREADS - 3}
    assert member_balance(member) == 50
    assert Redemption.objects.filter(member=member).count() == 3
    assert LedgerEntry.objects.filter(member=member, kind="redeem").count() == 3


def test_the_last_items_of_stock_go_to_exactly_as_many_members(live_api, threads):
    make_reward("last-three", points_cost=100, stock=3)
    members = MemberFactory.create_batch(THREADS)
    for m in members:
        fund(m, 100, f"gift-{m.pk}")
    tills = [live_api(f"Till {i % 4}") for i in range(THREADS)]

    answers = threads(
        THREADS,
        lambda i: tills[i].post(
            "/api/v1/redemptions/", {"member": members[i].member_number, "reward": "last-three"}
        ),
    )

    assert statuses(answers) == {201: 3, 409: THREADS - 3}
    assert error_codes(answers) == {"out_of_stock": THREADS - 3}
    assert Reward.objects.get(code="last-three").stock == 0
    assert sorted(member_balance(m) for m in members) == [0] * 3 + [100] * (THREADS - 3)


def test_replays_of_one_purchase_credit_it_once(live_api, threads):
    member = MemberFactory()
    till = live_api()
    body = {
        "member": member.member_number,
        "external_id": "till-7-000123",
        "amount": "120.00",
        "currency": "USD",
        "purchased_at": a_month_ago(),
    }

    answers = threads(THREADS, lambda i: till.post("/api/v1/purchases/", body))

    assert statuses(answers) == {201: 1, 200: THREADS - 1}
    assert len({str(sorted(a.json().items())) for a in answers}) == 1, "every replay answers the same"
    assert Purchase.objects.filter(external_id="till-7-000123").count() == 1
    earned = LedgerEntry.objects.filter(member=member, points__gt=0)
    assert sum(earned.values_list("points", flat=True)) == answers[0].json()["points_awarded"] == 120
    member.refresh_from_db()
    assert member.points_available + member.points_pending == 120


def test_replays_of_one_refund_reverse_it_once(live_api, threads):
    member = MemberFactory()
    till = live_api()
    purchase = till.post(
        "/api/v1/purchases/",
        {
            "member": member.member_number,
            "external_id": "sale-1",
            "amount": "200.00",
            "currency": "USD",
            "purchased_at": a_month_ago(),
        },
    )
    assert purchase.status_code == 201

    answers = threads(
        THREADS,
        lambda i: till.post("/api/v1/purchases/sale-1/refunds/", {"external_id": "ret-1", "amount": "50.00"}),
    )

    assert statuses(answers) == {201: 1, 200: THREADS - 1}
    assert {a.json()["points_reversed"] for a in answers} == {50}
    assert Refund.objects.count() == 1
    assert LedgerEntry.objects.filter(member=member, kind="reversal").count() == 1
    assert member_balance(member) == 150


def test_distinct_refunds_racing_never_refund_more_than_was_bought(live_api, threads):
    member = MemberFactory()
    till = live_api()
    till.post(
        "/api/v1/purchases/",
        {
            "member": member.member_number,
            "external_id": "sale-2",
            "amount": "100.00",
            "currency": "USD",
            "purchased_at": a_month_ago(),
        },
    )

    answers = threads(
        THREADS,
        lambda i: till.post(
            "/api/v1/purchases/sale-2/refunds/", {"external_id": f"ret-{i}", "amount": "30.00"}
        ),
    )

    assert statuses(answers) == {201: 3, 400: THREADS - 3}
    purchase = Purchase.objects.get(external_id="sale-2")
    assert purchase.refunded_amount == 90
    assert purchase.points_reversed == 90
    assert member_balance(member) == 10


def test_one_voucher_used_at_two_tills_is_used_once(live_api, threads):
    make_reward("five-off", points_cost=100)
    member = MemberFactory()
    fund(member, 100, "gift")
    issued = live_api("Web Shop").post(
        "/api/v1/redemptions/", {"member": member.member_number, "reward": "five-off"}
    )
    code = issued.json()["voucher_code"]
    tills = [live_api("Till A"), live_api("Till B")]

    answers = threads(THREADS, lambda i: tills[i % 2].post(f"/api/v1/vouchers/{code}/use/"))

    assert statuses(answers) == {200: 1, 409: THREADS - 1}
    assert error_codes(answers) == {"voucher_used": THREADS - 1}
    assert Redemption.objects.get(voucher_code=code).status == "used"


def test_a_refund_racing_a_redemption_leaves_a_consistent_ledger(live_api, threads):
    """The member spends the points of a purchase while the till refunds it: whichever lands
    first, the books balance; a debt is left only when the redemption won."""
    make_reward("big", points_cost=100)
    members = MemberFactory.create_batch(6)
    till = live_api()
    for m in members:
        answer = till.post(
            "/api/v1/purchases/",
            {
                "member": m.member_number,
                "external_id": f"sale-{m.pk}",
                "amount": "100.00",
                "currency": "USD",
                "purchased_at": a_month_ago(),
            },
        )
        assert answer.json()["points_awarded"] == 100

    def act(i: int):
        m = members[i // 2]
        if i % 2:
            return till.post(
                f"/api/v1/purchases/sale-{m.pk}/refunds/", {"external_id": f"r-{m.pk}", "amount": "100.00"}
            )
        return till.post("/api/v1/redemptions/", {"member": m.member_number, "reward": "big"})

    answers = threads(2 * len(members), act)

    refunds, redemptions = answers[1::2], answers[0::2]
    assert statuses(refunds) == {201: len(members)}
    for m, redeemed in zip(members, redemptions, strict=True):
        m.refresh_from_db()
        if redeemed.status_code == 201:
            assert m.points_available == -100, "the redemption won: the refund leaves a debt"
        else:
            assert redeemed.json()["error"]["code"] == "insufficient_points"
            assert m.points_available == 0
        assert m.points_pending == 0
