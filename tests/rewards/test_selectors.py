"""The catalog querysets and the member-facing selectors, with their query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from members.models import Member, Tier
from rewards.models import Reward
from rewards.selectors import (
    member_reward_option,
    member_reward_options,
    member_vouchers,
    reward_catalog,
)
from rewards.services import redemption_cancel, reward_redeem, voucher_use
from tests.factories import MemberFactory
from tests.rewards.support import fund, make_reward, set_tier

NOW = timezone.now().replace(microsecond=0)


def codes(rewards) -> set[str]:
    return {reward.code for reward in rewards}


def test_available_filters_by_activity_window_stock_and_tier(rewards):
    make_reward("later", available_from=NOW + timedelta(days=1))
    make_reward("over", available_until=NOW - timedelta(days=1))
    make_reward("gone", stock=0)
    make_reward("off", is_active=False)
    make_reward("silver-only", min_tier="silver")
    bronze, gold = Tier.objects.get(code="bronze"), Tier.objects.get(code="gold")

    assert codes(Reward.objects.available(on=NOW, tier=bronze)) == {"voucher-5", "voucher-20", "free-coffee"}
    assert codes(Reward.objects.available(on=NOW, tier=gold)) == {
        "voucher-5",
        "voucher-20",
        "free-coffee",
        "vip-event",
        "silver-only",
    }
    assert "later" in codes(Reward.objects.available(on=NOW + timedelta(days=2), tier=gold))
    assert codes(Reward.objects.available(on=NOW, tier=None)) == {"voucher-5", "voucher-20", "free-coffee"}
    assert "over" not in codes(reward_catalog(on=NOW))
    assert "gone" in codes(reward_catalog(on=NOW))


def test_options_say_why_each_reward_cannot_be_redeemed(member, rewards):
    fund(member, 600, "p", now=NOW)
    make_reward("gone", stock=0, points_cost=10)
    make_reward("once", per_member_limit=1, points_cost=10)
    make_reward("later", available_from=NOW + timedelta(days=1), points_cost=10)
    reward_redeem(member_id=member.pk, reward_code="once", notify=False, now=NOW)
    member = Member.objects.select_related("tier").get(pk=member.pk)

    options = {option.reward.code: option for option in member_reward_options(member, on=NOW)}

    assert options["voucher-5"].can_redeem
    assert options["free-coffee"].can_redeem
    assert options["voucher-20"].reasons == ("insufficient_points",)
    assert options["voucher-20"].points_short == 1210
    assert options["vip-event"].reasons == ("tier_required", "insufficient_points")
    assert options["gone"].reasons == ("out_of_stock",)
    assert (options["once"].reasons, options["once"].held) == (("limit_reached",), 1)
    assert options["later"].reasons == ("reward_unavailable",)
    assert options["later"].reason == "Not available at this time."
    assert member_reward_option(member, "vip-event", on=NOW).reasons == (
        "tier_required",
        "insufficient_points",
    )
    assert member_reward_option(member, "no-such", on=NOW) is None


def test_a_suspended_member_can_redeem_nothing(member, rewards):
    fund(member, 5000, "p", now=NOW)
    Member.objects.filter(pk=member.pk).update(status=Member.Status.SUSPENDED)
    member = Member.objects.select_related("tier").get(pk=member.pk)

    assert all("member_inactive" in option.reasons for option in member_reward_options(member, on=NOW))


def test_options_take_one_query_whatever_the_catalog_size(member, rewards, django_assert_num_queries):
    set_tier(member, "gold")
    for i in range(30):
        make_reward(f"extra-{i}", stock=i % 3, per_member_limit=1 + i % 2, min_tier="silver")
    member = Member.objects.select_related("tier").get(pk=member.pk)

    # The rewards and one read of which rewards have a lower price on offer (``rewards.pricing``;
    # kept per process outside a test's never-committed transaction).
    with django_assert_num_queries(2):
        options = member_reward_options(member, on=NOW)

    assert len(options) == 34


def test_member_vouchers_lists_newest_first_in_one_query(member, rewards, django_assert_num_queries):
    fund(member, 2000, "p", now=NOW)
    made = [
        reward_redeem(
            member_id=member.pk, reward_code=code, notify=False, now=NOW + timedelta(minutes=i)
        ).redemption
        for i, code in enumerate(["free-coffee", "voucher-5", "free-coffee", "free-coffee"])
    ]
    voucher_use(code=made[1].voucher_code, now=NOW)
    redemption_cancel(redemption_id=made[2].pk, now=NOW)
    other = MemberFactory()
    fund(other, 150, "o", now=NOW)
    reward_redeem(member_id=other.pk, reward_code="free-coffee", notify=False, now=NOW)

    with django_assert_num_queries(1):
        listed = [(v.pk, v.reward.code, v.status) for v in member_vouchers(member)]

    assert listed == [
        (made[3].pk, "free-coffee", "issued"),
        (made[2].pk, "free-coffee", "cancelled"),
        (made[1].pk, "voucher-5", "used"),
        (made[0].pk, "free-coffee", "issued"),
    ]
    assert [v.pk for v in member_vouchers(member, status="issued")] == [made[3].pk, made[0].pk]


@pytest.mark.parametrize("tier_code", ["bronze", "gold"])
def test_the_options_agree_with_the_service(member, rewards, tier_code):
    """What the portal shows as redeemable is what redeeming accepts."""
    set_tier(member, tier_code)
    fund(member, 2600, "p", now=NOW)
    member = Member.objects.select_related("tier").get(pk=member.pk)
    for option in member_reward_options(member, on=NOW):
        if option.can_redeem:
            continue
        with pytest.raises(Exception) as raised:
            reward_redeem(member_id=member.pk, reward_code=option.reward.code, notify=False, now=NOW)
        assert raised.value.code == option.reasons[0]
