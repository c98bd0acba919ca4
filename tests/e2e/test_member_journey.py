"""A member's journey in a real browser: sign up with the email a store enrolled, confirm the
mail, see balance and tier, redeem, see the voucher and the history. Then: another member
cannot reach the first one's data, and the core flows work with JavaScript off."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from campaigns.demo import seed_program as seed_rules
from members.demo import seed_program
from members.ledger.services import points_credit
from members.models import LedgerEntry, Member, Purchase
from members.services import member_enroll
from rewards.demo import seed_program as seed_rewards
from rewards.models import Redemption
from rewards.services import reward_redeem
from tests import factories
from tests.e2e.conftest import PHONE, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-password-7"


def _store_enrolled_member(email: str, first_name: str, *, points: int = 1200) -> Member:
    """A member a store enrolled at the till, with a few purchases behind them."""
    member = member_enroll(email=email, first_name=first_name, last_name="Shopper", channel="api")
    store = factories.StoreFactory(code="high-street", name="High Street")
    now = timezone.now()
    for i, days_ago in enumerate([200, 120, 45, 20, 3]):
        at = now - timedelta(days=days_ago)
        purchase = Purchase.objects.create(
            member=member,
            store=store,
            external_id=f"{member.pk}-{i}",
            amount=Decimal("80.00"),
            currency="USD",
            purchased_at=at,
            available_at=at + timedelta(days=14),
            points_awarded=points // 5,
        )
        points_credit(
            member_id=member.pk,
            points=points // 5,
            idempotency_key=f"e2e:{member.pk}:{i}",
            source_type=LedgerEntry.Source.PURCHASE,
            source_id=purchase.external_id,
            description=f"Purchase at {store.name}",
            earned_at=at,
            available_at=at + timedelta(days=14) if days_ago < 14 else at,
            now=at,
        )
    return member


def _seed() -> None:
    seed_program()
    seed_rewards()
    seed_rules()


def _log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/portal/")


def test_sign_up_claim_redeem_and_see_voucher_and_history(live_server, new_context):
    _seed()
    member = _store_enrolled_member("jo@example.org", "Jo")
    base = live_server.url
    page = new_context().new_page()

    page.goto(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Get more from every purchase")
    shoot(page, "home-desktop")
    page.get_by_role("link", name="Join for free").click()
    shoot(page, "signup-desktop")

    page.get_by_label("First name").fill("Jo")
    page.get_by_label("Email").fill("jo@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
    shoot(page, "verification-sent-desktop")

    body = next(m for m in mail.outbox if "jo@example.org" in m.to).body
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", body).group(0)
    page.goto(link)
    shoot(page, "confirm-email-desktop")
    page.get_by_role("button", name="Yes, confirm my email").click()

    # Logged in, on the claimed member's dashboard: the store's points are there.
    expect(page).to_have_url(f"{base}/portal/")
    member.refresh_from_db()
    assert member.user is not None and member.user.email == "jo@example.org"
    expect(page.get_by_test_id("points-available")).to_have_text(f"{member.points_available:,}")
    expect(page.get_by_test_id("points-pending")).to_have_text(f"{member.points_pending:,}")
    expect(page.get_by_test_id("tier")).to_have_text("Bronze")
    expect(page.get_by_text(member.member_number)).to_be_visible()
    shoot(page, "dashboard-desktop")

    page.get_by_role("navigation", name="My membership").get_by_role("link", name="Rewards").click()
    expect(page.get_by_text("For Gold members and above")).to_be_visible()
    shoot(page, "rewards-desktop")
    page.get_by_label("Only what I can afford").check()  # applies at once with JavaScript
    expect(page).to_have_url(re.compile(r"affordable=1"))
    expect(page.get_by_text("For Gold members and above")).to_have_count(0)

    page.goto(f"{base}/portal/rewards/voucher-5/")
    page.get_by_test_id("redeem").click()
    expect(page.get_by_text("You are about to spend")).to_be_visible()
    shoot(page, "reward-confirm-desktop")
    page.get_by_test_id("confirm-redeem").click()

    expect(page).to_have_url(re.compile(r"/portal/vouchers/"))
    redemption = Redemption.objects.get(member=member)
    expect(page.get_by_test_id("voucher-code")).to_have_text(redemption.voucher_code)
    expect(page.locator(".qr svg")).to_be_visible()
    shoot(page, "vouchers-desktop")

    page.get_by_role("link", name="History").click()
    expect(page.locator("table.ledger")).to_contain_text("Redeemed")
    expect(page.locator("table.ledger")).to_contain_text("-500")
    shoot(page, "history-desktop")
    page.get_by_label("Type").select_option("redeem")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.ledger tbody tr")).to_have_count(1)

    page.get_by_role("link", name="Earn").click()
    expect(page.get_by_role("button", name="Copy")).to_be_visible()  # shown by the script
    shoot(page, "earn-desktop")
    page.get_by_role("link", name="Profile").click()
    shoot(page, "profile-desktop")

    # The same pages on a phone, in the same session.
    phone = new_context(
        viewport=PHONE, storage_state=page.context.storage_state(), is_mobile=True, has_touch=True
    ).new_page()
    for path, name in [
        ("/", "home"),
        ("/portal/", "dashboard"),
        ("/portal/history/", "history"),
        ("/portal/rewards/", "rewards"),
        ("/portal/rewards/voucher-5/?confirm=1", "reward-confirm"),
        ("/portal/vouchers/", "vouchers"),
        ("/portal/earn/", "earn"),
        ("/portal/profile/", "profile"),
        ("/accounts/email/", "email-change"),
        ("/accounts/password/change/", "password-change"),
    ]:
        phone.goto(f"{base}{path}")
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways on a phone"
        shoot(phone, f"{name}-phone")


def test_another_member_cannot_reach_the_first_members_data(live_server, new_context):
    _seed()
    first = _store_enrolled_member("first@example.org", "Fiona")
    first_user = factories.UserFactory(email="first@example.org", password=PASSWORD)
    Member.objects.filter(pk=first.pk).update(user=first_user)
    voucher = reward_redeem(member_id=first.pk, reward_code="voucher-5", notify=False).redemption
    second_user = factories.UserFactory(email="second@example.org", password=PASSWORD)
    for user in (first_user, second_user):
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    factories.MemberFactory(email="second@example.org", first_name="Sid", user=second_user)

    base = live_server.url
    page = new_context().new_page()
    _log_in(page, base, "second@example.org", PASSWORD)
    expect(page.get_by_text("Hi, Sid")).to_be_visible()
    for path in [
        f"/portal/?member={first.member_number}",
        f"/portal/history/?member={first.member_number}",
        "/portal/vouchers/",
        f"/portal/vouchers/?member={first.member_number}",
        "/portal/profile/",
    ]:
        page.goto(f"{base}{path}")
        shown = page.locator("main").inner_text()
        assert voucher.voucher_code not in page.content() and "Fiona" not in shown
        assert first.member_number not in shown
    # Cancelling the first member's voucher by its id answers "not found" and changes nothing.
    response = page.request.post(
        f"{base}/portal/vouchers/{voucher.pk}/cancel/", form={"csrfmiddlewaretoken": _csrf(page)}
    )
    assert response.status == 404
    voucher.refresh_from_db()
    assert voucher.status == "issued"


def _csrf(page: Page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")


def test_log_in_and_redeem_with_javascript_off(live_server, new_context):
    _seed()
    member = _store_enrolled_member("nojs@example.org", "Noa")
    user = factories.UserFactory(email="nojs@example.org", password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    Member.objects.filter(pk=member.pk).update(user=user)

    base = live_server.url
    page = new_context(java_script_enabled=False).new_page()
    _log_in(page, base, "nojs@example.org", PASSWORD)
    page.goto(f"{base}/portal/rewards/")
    page.get_by_label("Only what I can afford").check()
    page.get_by_role("button", name="Apply").click()  # visible without the script
    expect(page).to_have_url(re.compile(r"affordable=1"))
    page.get_by_role("link", name="A free coffee").click()
    page.get_by_test_id("redeem").click()
    page.get_by_test_id("confirm-redeem").click()
    expect(page.get_by_test_id("voucher-code")).to_have_text(
        Redemption.objects.get(member=member).voucher_code
    )
    page.goto(f"{base}/portal/earn/")
    expect(page.get_by_role("button", name="Copy")).to_be_hidden()
    expect(page.locator("#referral-link")).to_have_value(re.compile(rf"ref={member.referral_code}$"))
