"""The member's card on a phone: the portal's Card tab shows a QR code and the same code as
text, large enough to scan and read out; the page counts the code down and shows a new one
before it expires; a partner's till redeems with the code once."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect
from rest_framework.test import APIClient

from members.api_keys import api_key_create, store_get_or_create
from members.demo import seed_program
from members.models import MemberCardToken
from rewards.demo import seed_program as seed_rewards
from tests import factories
from tests.e2e.conftest import PHONE, shoot
from tests.rewards.support import fund

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-password-7"
CODE = re.compile(r"^[0-9A-Z]{5}-[0-9A-Z]{5}$")


def test_the_card_on_a_phone_rotates_and_a_partner_redeems_with_it(live_server, new_context):
    seed_program()
    seed_rewards()
    user = factories.UserFactory(email="card@example.org", password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    member = factories.MemberFactory(email=user.email, first_name="Cara", user=user)
    fund(member, 400, "gift")
    base = live_server.url
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()
    page.clock.install()

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("navigation", name="My membership").get_by_role("link", name="Card").click()

    expect(page).to_have_url(f"{base}/portal/card/")
    text = page.locator("[data-code]")
    expect(text).to_have_text(CODE)
    first_code = text.inner_text()
    qr = page.locator(".card-code .qr svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box and box["width"] >= 250 and abs(box["width"] - box["height"]) < 1  # big and square
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    tabs = page.get_by_role("navigation", name="My membership")
    expect(tabs.get_by_role("link", name="Earn")).to_be_in_viewport(ratio=1)  # all six tabs fit
    expect(page.get_by_text("Valid for 10:00, once.")).to_be_visible()
    shoot(page, "card-phone")

    page.clock.run_for("01:05")
    expect(page.get_by_text("Valid for 8:55, once.")).to_be_visible()

    # Half a minute before the code expires the page fetches a new one by itself.
    with page.expect_navigation():
        page.clock.fast_forward("08:30")
    expect(text).to_have_text(CODE)
    second_code = text.inner_text()
    assert second_code != first_code
    assert MemberCardToken.objects.filter(member=member, used_at__isnull=True).count() == 2

    _, raw_key = api_key_create(store=store_get_or_create(name="Corner Bakery", is_partner=True))
    till = APIClient()
    till.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    body = {"member": member.member_number, "reward": "free-coffee", "member_token": second_code}
    assert till.post("/api/v1/redemptions/", body, format="json").status_code == 201
    again = till.post("/api/v1/redemptions/", body, format="json")
    assert (again.status_code, again.json()["error"]["code"]) == (403, "invalid_member_token")
