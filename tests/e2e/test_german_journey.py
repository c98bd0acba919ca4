"""A member of a Swiss coalition goes through the portal in German: switch the language in the
footer, read balance and tier, show the card, redeem a reward with its confirmation, see the
voucher. Amounts are in the program's currency (CHF) with German number formatting.
Screenshots ``de-*.png``."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from members.ledger.services import points_credit
from members.models import Member, Program
from members.services import member_enroll
from rewards.demo import seed_program as seed_rewards
from tests.e2e.conftest import shoot
from tests.portal.conftest import verified_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"


def test_a_journey_in_german(live_server, new_context, program):
    program.name, program.currency = "Club Helvetia", "CHF"
    program.save()
    seed_rewards()
    user = verified_user("lea@example.ch", first_name="Lea", last_name="Keller")
    member = member_enroll(email=user.email, first_name="Lea", last_name="Keller", user=user)
    points_credit(member_id=member.pk, points=1234, idempotency_key="e2e:de", source_type="system")
    base = live_server.url
    page = new_context(locale="de-CH").new_page()

    page.goto(f"{base}/accounts/login/")
    # The browser asks for German: the login page is German before anyone chooses.
    expect(page.get_by_role("heading", level=1)).to_have_text("Anmelden")
    page.get_by_label("E-Mail", exact=True).fill(user.email)
    page.get_by_label("Passwort", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(f"{base}/portal/")

    # The member picks German in the footer: kept for their mail too.
    page.get_by_label("Sprache").select_option("de")
    page.get_by_role("button", name="Wechseln").click()
    expect(page).to_have_url(f"{base}/portal/")
    assert Member.objects.get(pk=member.pk).language == "de"
    expect(page.get_by_role("heading", level=1)).to_have_text("Hallo Lea")
    expect(page.get_by_role("heading", name="Verfügbare Punkte")).to_be_visible()
    expect(page.get_by_test_id("points-available")).to_have_text("1.234")
    expect(page.get_by_text(re.compile(r"im Wert von etwa 12,34\s+CHF in Prämien"))).to_be_visible()
    shoot(page, "de-dashboard")

    # The card's countdown, written by its script, reads in German too.
    page.get_by_role("link", name="Karte", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deine Karte")
    expect(page.get_by_text(re.compile(r"^Gültig für \d+:\d\d, einmal\.$"))).to_be_visible()

    page.get_by_role("link", name="Prämien", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Prämien")
    page.goto(f"{base}/portal/rewards/voucher-5/")
    page.get_by_test_id("redeem").click()
    expect(page.get_by_text("Du löst 500 Punkte")).to_be_visible()
    page.get_by_test_id("confirm-redeem").click()
    expect(page).to_have_url(re.compile(r"/portal/vouchers/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Meine Gutscheine")
    expect(page.get_by_text("Einlösbar")).to_be_visible()
    shoot(page, "de-vouchers")

    page.get_by_role("link", name="Verlauf", exact=True).click()
    expect(page.locator("table.ledger")).to_contain_text("Eingelöst")
    expect(page.locator("table.ledger")).to_contain_text("-500")
    assert Program.load().currency == "CHF"
