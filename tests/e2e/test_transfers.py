"""Sending points in a real browser, at desktop and phone widths: the form, the confirmation
with the recipient's name, the balance after, the points on the other side with their expiry,
the dashboard's plan card; and a mistyped surname that sends nothing."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import expect

from members.demo import seed_program
from members.ledger.invariants import ledger_violations
from members.ledger.services import points_credit
from members.memberships import membership_start
from members.models import LedgerEntry, Member, PointLot, Transfer
from tests import factories
from tests.e2e.conftest import DESKTOP, PHONE, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-password-7"


def login(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize(("width", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_a_member_sends_points_to_a_friend(live_server, new_context, width, viewport):
    seed_program()
    user = factories.UserFactory(email="sender@example.org", password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    sender = factories.MemberFactory(email=user.email, first_name="Maya", last_name="Member", user=user)
    friend = factories.MemberFactory(first_name="Liam", last_name="Lindqvist")
    points_credit(
        member_id=sender.pk, points=1200, idempotency_key="gift", source_type=LedgerEntry.Source.SYSTEM
    )
    membership_start(store=None, member_number=sender.member_number, plan_code="plus", external_id="M-1")
    base = live_server.url
    options = {"is_mobile": True, "has_touch": True} if width == "phone" else {}
    page = new_context(viewport=viewport, **options).new_page()

    login(page, base, user.email)
    expect(page.get_by_test_id("plan")).to_contain_text("Your Plus has earned you 0 extra points")
    shoot(page, f"dashboard-plan-{width}")
    page.get_by_role("link", name="Send points", exact=True).click()
    expect(page).to_have_url(f"{base}/portal/transfer/")
    expect(page.get_by_test_id("transfer-left")).to_have_text("5,000")

    # A mistyped surname: nothing is sent, the form says why.
    page.get_by_label("Their member number").fill(friend.member_number)
    page.get_by_label("Their surname").fill("Lindqvest")
    page.get_by_label("Points to send").fill("300")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("No member has that member number and surname.")).to_be_visible()
    assert not Transfer.objects.exists()

    page.get_by_label("Their surname").fill("lindqvist")
    page.get_by_label("Message (optional)").fill("Happy birthday!")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send 300 points?")
    expect(page.get_by_test_id("transfer-recipient")).to_have_text("Liam Lindqvist")
    shoot(page, f"transfer-confirm-{width}")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.get_by_test_id("transfer-send").click()

    expect(page).to_have_url(f"{base}/portal/")
    expect(page.get_by_text("You sent 300 points to Liam L.")).to_be_visible()
    expect(page.get_by_test_id("points-available")).to_have_text("900")
    shoot(page, f"transfer-sent-{width}")
    friend = Member.objects.get(pk=friend.pk)
    assert friend.points_available == 300
    assert PointLot.objects.get(member=friend).expires_at == PointLot.objects.get(member=sender).expires_at
    page.goto(f"{base}/portal/transfer/")
    expect(page.get_by_test_id("transfer-left")).to_have_text("4,700")
    shoot(page, f"transfer-form-{width}")
    assert ledger_violations() == []
