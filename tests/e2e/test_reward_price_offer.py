"""A reward at a lower price in a real browser: the member activates the offer on the offers
page, the catalog shows the coffee at 75 points with the catalog's 150 struck through, and they
redeem it for 75. A reward for Plus members is shown as such and locked without the plan."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Offer, OfferTarget, OfferUse
from members.demo import seed_program
from members.models import MembershipPlan
from rewards.demo import seed_program as seed_rewards
from rewards.models import Redemption, Reward
from tests import factories
from tests.e2e.conftest import shoot
from tests.rewards.support import fund

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-password-7"


def test_a_member_activates_a_lower_price_and_redeems_at_it(live_server, new_context):
    seed_program()
    seed_rewards()
    user = factories.UserFactory(email="offer@example.org", password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    member = factories.MemberFactory(email=user.email, first_name="Ines", user=user)
    fund(member, 100, "gift")
    coffee = Reward.objects.get(code="free-coffee")
    offer = Offer.objects.create(
        code="coffee-for-less", name="A coffee for 75 points", kind=Offer.Kind.REWARD_PRICE, reward=coffee,
        reward_points=75, requires_activation=True, starts_at=timezone.now() - timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=30),
    )  # fmt: skip
    OfferTarget.objects.create(offer=offer, member=member)
    Reward.objects.create(
        code="plus-lounge", name="The members' lounge", kind=Reward.Kind.EXPERIENCE, points_cost=50,
        members_of_plan=MembershipPlan.objects.get(code="plus"),
    )  # fmt: skip
    base = live_server.url

    page = new_context().new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{base}/portal/rewards/")
    expect(page.locator(".lock", has_text="For Plus members")).to_be_visible()  # locked without the plan
    expect(page.get_by_test_id("price-cut")).to_have_count(0)

    page.goto(f"{base}/portal/offers/")
    page.get_by_test_id("offer-coffee-for-less").get_by_role("button", name="Activate").click()
    expect(page.get_by_test_id("offer-active")).to_be_visible()

    page.goto(f"{base}/portal/rewards/")
    expect(page.get_by_test_id("price-cut")).to_contain_text("A coffee for 75 points")
    shoot(page, "rewards-price-offer-desktop")
    page.goto(f"{base}/portal/rewards/free-coffee/")
    page.get_by_test_id("redeem").click()
    expect(page.get_by_test_id("confirm-redeem")).to_be_visible()
    shoot(page, "reward-price-confirm-desktop")
    page.get_by_test_id("confirm-redeem").click()
    expect(page.get_by_role("status")).to_contain_text("75 points spent")

    redemption = Redemption.objects.get(member=member)
    assert (redemption.points_spent, redemption.price_source) == (75, "offer:coffee-for-less")
    assert OfferUse.objects.get().points == 75
    member.refresh_from_db()
    assert member.points_available == 25
