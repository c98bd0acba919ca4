"""Races on PostgreSQL with real threads: stock is never oversold, a balance never goes below
zero, a voucher is used once."""

from __future__ import annotations

import pytest

from members.errors import InsufficientPoints
from members.ledger.invariants import ledger_violations
from rewards.errors import RewardOutOfStock, VoucherUsed
from rewards.models import Redemption, Reward
from rewards.services import redemption_cancel, reward_redeem, voucher_use
from tests.factories import MemberFactory
from tests.rewards.support import balances, fund, make_reward

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def outcomes(results) -> dict[str, int]:
    counts: dict[str, int] = {}
    for result in results:
        name = type(result).__name__
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_twenty_members_racing_for_the_last_five_get_exactly_five(program, threads):
    make_reward("last-five", points_cost=100, stock=5)
    members = MemberFactory.create_batch(20)
    for m in members:
        fund(m, 100, f"p{m.pk}")

    results = threads(
        20, lambda i: reward_redeem(member_id=members[i].pk, reward_code="last-five", notify=False)
    )

    assert outcomes(results) == {"Redeemed": 5, "RewardOutOfStock": 15}
    assert all(isinstance(r, RewardOutOfStock) for r in results if not hasattr(r, "redemption"))
    assert Reward.objects.get(code="last-five").stock == 0
    assert Redemption.objects.count() == 5
    assert sorted(balances(m)[0] for m in members) == [0] * 5 + [100] * 15
    assert ledger_violations() == []


def test_twenty_redemptions_against_points_for_two_get_exactly_two(program, threads):
    make_reward("coffee", points_cost=150)
    member = MemberFactory()
    fund(member, 100, "a")
    fund(member, 200, "b")

    results = threads(20, lambda i: reward_redeem(member_id=member.pk, reward_code="coffee", notify=False))

    assert outcomes(results) == {"Redeemed": 2, "InsufficientPoints": 18}
    assert all(isinstance(r, InsufficientPoints) for r in results if not hasattr(r, "redemption"))
    assert balances(member) == (0, 0)
    assert Redemption.objects.count() == 2
    assert ledger_violations() == []


def test_a_voucher_used_at_two_tills_at_once_is_used_once(program, threads):
    make_reward("coffee", points_cost=150)
    member = MemberFactory()
    fund(member, 150, "a")
    code = reward_redeem(member_id=member.pk, reward_code="coffee", notify=False).redemption.voucher_code

    results = threads(10, lambda i: voucher_use(code=code))

    assert outcomes(results) == {"Redemption": 1, "VoucherUsed": 9}
    assert all(isinstance(r, VoucherUsed) for r in results if not isinstance(r, Redemption))
    assert Redemption.objects.get(voucher_code=code).status == "used"


def test_cancel_and_use_at_once_end_in_exactly_one_of_them(program, threads):
    make_reward("coffee", points_cost=150, stock=3)
    member = MemberFactory()
    fund(member, 150, "a")
    redemption = reward_redeem(member_id=member.pk, reward_code="coffee", notify=False).redemption

    def act(i: int):
        if i % 2:
            return redemption_cancel(redemption_id=redemption.pk)
        return voucher_use(code=redemption.voucher_code)

    threads(6, act)

    redemption.refresh_from_db()
    stock = Reward.objects.get(code="coffee").stock
    if redemption.status == "used":
        assert (balances(member), stock) == ((0, 0), 2)
    else:
        assert redemption.status == "cancelled"
        assert (balances(member), stock, redemption.points_returned) == ((150, 0), 3, 150)
    assert ledger_violations() == []


def test_one_idempotency_key_sent_ten_times_at_once_redeems_once(program, threads):
    make_reward("coffee", points_cost=150)
    member = MemberFactory()
    fund(member, 1000, "a")

    results = threads(
        10,
        lambda i: reward_redeem(
            member_id=member.pk, reward_code="coffee", idempotency_key="api:1:same", notify=False
        ),
    )

    assert sorted(r.created for r in results) == [False] * 9 + [True]
    assert len({r.redemption.pk for r in results}) == 1
    assert balances(member) == (850, 0)
    assert ledger_violations() == []
