"""A reward at a lower price (a personalised offer, through ``rewards.pricing``) and rewards for
the members of a paid plan: in the catalog, when redeeming, against the offer's uses and budget,
and the ledger after each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import Offer, OfferTarget, OfferUse
from campaigns.offers import offer_activate
from members.memberships import membership_cancel, membership_start
from members.models import LedgerEntry, Member, MembershipPlan
from rewards.errors import InsufficientPoints, PlanRequired
from rewards.selectors import member_reward_option, member_reward_options
from rewards.services import redemption_cancel, reward_redeem
from tests import factories

from .support import balances, fund, make_reward

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_ok")]
NOW = timezone.now().replace(microsecond=0)


def price_offer(reward, points: int, *, members=(), code="cheap-coffee", **fields) -> Offer:
    offer = Offer.objects.create(
        code=code,
        name="Coffee for less",
        kind=Offer.Kind.REWARD_PRICE,
        reward=reward,
        reward_points=points,
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=10),
        **fields,
    )
    OfferTarget.objects.bulk_create([OfferTarget(offer=offer, member=m) for m in members])
    return offer


@pytest.fixture
def coffee(program):
    return make_reward("coffee", points_cost=500)


def test_a_member_of_the_offer_redeems_at_its_price_once(member, coffee):
    other = factories.MemberFactory()
    price_offer(coffee, 200, members=[member])
    fund(member, 1000, "m")
    fund(other, 1000, "o")

    first = reward_redeem(member_id=member.pk, reward_code="coffee").redemption
    second = reward_redeem(member_id=member.pk, reward_code="coffee").redemption
    theirs = reward_redeem(member_id=other.pk, reward_code="coffee").redemption

    assert (first.points_spent, first.price_source) == (200, "offer:cheap-coffee")
    assert (second.points_spent, second.price_source) == (500, "")  # one use per member
    assert theirs.points_spent == 500
    assert balances(member) == (300, 0)
    use = OfferUse.objects.get()
    assert (use.member_id, use.redemption_id, use.purchase_id, use.points) == (member.pk, first.pk, None, 300)


def test_the_lower_price_is_enough_when_the_catalog_price_is_not(member, coffee):
    price_offer(coffee, 200, members=[member])
    fund(member, 250, "m")
    member.refresh_from_db()

    option = member_reward_option(member, "coffee")
    assert (option.can_redeem, option.price, option.price_cut.label) == (True, 200, "Coffee for less")

    reward_redeem(member_id=member.pk, reward_code="coffee")
    assert balances(member) == (50, 0)


def test_an_offer_to_activate_lowers_the_price_only_once_activated(member, coffee):
    price_offer(coffee, 200, members=[member], requires_activation=True)
    fund(member, 1000, "m")
    member.refresh_from_db()
    assert member_reward_option(member, "coffee").price == 500

    offer_activate(member=member, code="cheap-coffee")

    assert member_reward_option(member, "coffee").price == 200
    assert reward_redeem(member_id=member.pk, reward_code="coffee").redemption.points_spent == 200


def test_a_spent_budget_charges_the_catalog_price(member, coffee):
    offer = price_offer(coffee, 200, members=[member], budget_points=300)
    Offer.objects.filter(pk=offer.pk).update(spent_points=100)  # 200 left, a use takes 300
    fund(member, 1000, "m")

    redemption = reward_redeem(member_id=member.pk, reward_code="coffee").redemption

    assert (redemption.points_spent, redemption.price_source) == (500, "")
    assert not OfferUse.objects.exists()
    assert Offer.objects.get(pk=offer.pk).spent_points == 100


def test_a_spent_budget_with_too_few_points_for_the_catalog_price_changes_nothing(member, coffee):
    offer = price_offer(coffee, 200, members=[member], budget_points=100)
    fund(member, 300, "m")

    with pytest.raises(InsufficientPoints):
        reward_redeem(member_id=member.pk, reward_code="coffee")

    assert balances(member) == (300, 0)
    assert Offer.objects.get(pk=offer.pk).spent_points == 0
    assert not coffee.redemptions.exists()


def test_cancelling_a_voucher_bought_for_less_gives_back_what_was_paid(member, coffee):
    price_offer(coffee, 200, members=[member])
    fund(member, 1000, "m")
    redemption = reward_redeem(member_id=member.pk, reward_code="coffee").redemption

    redemption_cancel(redemption_id=redemption.pk)

    assert balances(member) == (1000, 0)


def test_a_price_offer_gives_nothing_on_purchases(member, coffee, store):
    from campaigns.services import purchase_record

    price_offer(coffee, 200, members=[member])
    outcome = purchase_record(
        store=store, member_number=member.member_number, external_id="p1", amount="100.00",
        currency="USD", purchased_at=NOW - timedelta(minutes=5),
    )  # fmt: skip

    assert all(not award.source.startswith("offer:") for award in outcome.awards)


def test_the_catalog_prices_every_reward_in_a_fixed_number_of_queries(
    member, coffee, django_assert_max_num_queries
):
    for i in range(12):
        reward = make_reward(f"r{i}", points_cost=400)
        price_offer(reward, 100 + i, members=[member], code=f"cut-{i}")
    fund(member, 1000, "m")

    with django_assert_max_num_queries(3):
        options = member_reward_options(member)

    assert sorted(o.price for o in options if o.price_cut) == [100 + i for i in range(12)]


@pytest.fixture
def store(db):
    return factories.StoreFactory()


@pytest.fixture
def plus_lounge(program):
    return make_reward("lounge", points_cost=100, members_of_plan=MembershipPlan.objects.get(code="plus"))


def test_a_member_only_reward_needs_a_running_membership_of_its_plan(member, plus_lounge, store):
    fund(member, 1000, "m")
    member.refresh_from_db()
    assert member_reward_option(member, "lounge").reasons == ("plan_required",)
    with pytest.raises(PlanRequired):
        reward_redeem(member_id=member.pk, reward_code="lounge")

    started = membership_start(
        store=store, member_number=member.member_number, plan_code="plus", external_id="A"
    ).membership
    assert member_reward_option(member, "lounge").can_redeem
    assert reward_redeem(member_id=member.pk, reward_code="lounge").redemption.points_spent == 100

    membership_cancel(membership_id=started.pk, store=store, now=timezone.now() + timedelta(seconds=1))
    with pytest.raises(PlanRequired):
        reward_redeem(member_id=member.pk, reward_code="lounge", now=timezone.now() + timedelta(seconds=2))
    assert LedgerEntry.objects.filter(member=member, source_type="redemption").count() == 1


def test_a_page_that_listed_the_members_offers_prices_rewards_without_asking_again(
    member, coffee, django_assert_num_queries
):
    from campaigns.offers import member_offers

    price_offer(coffee, 200, members=[member])
    fund(member, 1000, "m")
    member = Member.objects.select_related("tier").get(pk=member.pk)
    assert [o.code for o in member_offers(member)] == ["cheap-coffee"]

    # The rewards, and which of them have a lower price on offer; not the member's offers again.
    with django_assert_num_queries(2):
        option = next(o for o in member_reward_options(member) if o.reward.code == "coffee")

    assert (option.price, option.price_cut.source) == (200, "offer:cheap-coffee")
