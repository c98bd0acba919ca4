"""The staff pages in a real browser: the program figures and the tier what-if, with a year of
activity behind them. Screenshots go to ``test-artifacts/screenshots/``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from playwright.sync_api import Page, expect

from loyalty_site.staff.roles import PROGRAM_MANAGER
from members.jobs import ledger_check_run
from members.models import Tier
from tests import factories
from tests.e2e.conftest import shoot
from tests.staff.fixtures import build_busy_program

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff_page(new_context, live_server, program) -> Page:
    """A page logged in as a program manager (the session comes from the test client)."""
    manager = factories.UserFactory(email="pm@example.org", is_staff=True)
    manager.groups.add(Group.objects.get(name=PROGRAM_MANAGER))
    client = Client()
    client.force_login(manager)
    context = new_context()
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
          "url": live_server.url}]
    )  # fmt: skip
    build_busy_program(now=timezone.now())
    ledger_check_run(notify=False)
    return context.new_page()


def test_the_figures_page(staff_page, live_server):
    staff_page.goto(f"{live_server.url}/staff/")

    expect(staff_page.get_by_role("heading", name="Program figures")).to_be_visible()
    expect(staff_page.get_by_test_id("reconciliation")).to_contain_text("the ledger check passed")
    assert staff_page.locator("svg.chart").count() == 3
    shoot(staff_page, "staff-dashboard")
    shoot(staff_page, "staff-dashboard-top", full_page=False)
    with staff_page.expect_download() as download:
        staff_page.get_by_role("link", name="Download CSV").first.click()
    assert download.value.suggested_filename.startswith("points-")


def test_the_tier_what_if_page(staff_page, live_server):
    staff_page.goto(f"{live_server.url}/staff/tiers/")
    staff_page.get_by_label("Silver threshold").fill("150")
    staff_page.get_by_label("Gold threshold").fill("600")
    staff_page.get_by_label("Gold multiplier").fill("1.75")
    staff_page.get_by_role("button", name="Save draft and preview").click()

    expect(staff_page.get_by_text("Draft saved.")).to_be_visible()
    expect(staff_page.get_by_test_id("moves-table")).to_be_visible()
    assert int(staff_page.get_by_test_id("moves-up").inner_text().replace(",", "")) > 0
    shoot(staff_page, "staff-tier-what-if")

    staff_page.get_by_role("button", name="Publish the draft").click()
    expect(staff_page.get_by_text("Published: 2 tiers changed.")).to_be_visible()
    assert Tier.objects.get(code="gold").multiplier == Decimal("1.75")
