"""The offers page in a real browser: a lapsed member finds the come-back offer under Offers,
activates it with the button (a POST form, no script), and sees it active; the dashboard shows
it with the recommended rewards. Desktop and phone screenshots."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.demo import seed_offers
from campaigns.models import OfferActivation
from members.demo import seed_program
from members.jobs import job_run
from members.models import Purchase, PurchaseLine
from rewards.demo import seed_program as seed_rewards
from tests import factories
from tests.e2e.conftest import PHONE, shoot
from tests.rewards.support import fund

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-password-7"


def test_a_lapsed_member_activates_the_come_back_offer(live_server, new_context):
    seed_program()
    seed_rewards()
    seed_offers()
    user = factories.UserFactory(email="lapsed@example.org", password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    member = factories.MemberFactory(email=user.email, first_name="Lena", user=user)
    fund(member, 180, "gift")
    then = timezone.now() - timedelta(days=75)
    purchase = Purchase.objects.create(
        member=member, store=factories.StoreFactory(), external_id="old", amount=Decimal("24"),
        currency="USD", purchased_at=then, available_at=then,
    )  # fmt: skip
    PurchaseLine.objects.create(purchase=purchase, amount=Decimal("24"), category="coffee")
    job_run(name="refresh_segments", notify=False)
    base = live_server.url

    page = new_context().new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_test_id("dashboard-offers")).to_contain_text("Come back")
    expect(page.get_by_test_id("recommended")).to_be_visible()
    shoot(page, "dashboard-offers-desktop")

    page.get_by_role("navigation", name="My membership").get_by_role("link", name="Offers").click()
    expect(page).to_have_url(f"{base}/portal/offers/")
    offer = page.get_by_test_id("offer-come-back")
    expect(offer).to_contain_text("Come back: double points")
    shoot(page, "offers-desktop")
    offer.get_by_role("button", name="Activate").click()
    expect(page.get_by_test_id("offer-active")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("is active until")
    assert OfferActivation.objects.filter(member=member).count() == 1
    shoot(page, "offers-activated-desktop")

    phone = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    phone.goto(f"{base}/accounts/login/")
    phone.get_by_label("Email").fill(user.email)
    phone.get_by_label("Password").fill(PASSWORD)
    phone.get_by_role("button", name="Log in").click()
    phone.goto(f"{base}/portal/offers/")
    expect(phone.get_by_test_id("offer-active")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shoot(phone, "offers-phone")
