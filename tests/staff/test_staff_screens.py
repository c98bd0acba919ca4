"""The staff pages in a real browser (Debian's chromium through Playwright), with screenshots
in ``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from members.models import Tier  # noqa: E402

from .fixtures import build_busy_program  # noqa: E402

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def staff_page(browser, live_server, manager) -> Iterator[Page]:
    """A page logged in as a program manager (the session made by the test client)."""
    client = Client()
    client.force_login(manager)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
          "url": live_server.url}]
    )  # fmt: skip
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def shoot(page: Page, name: str) -> None:
    """The whole page, and the first screenful as people see it."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-top.png"))


def test_the_figures_page(staff_page, live_server, program):
    build_busy_program(now=timezone.now())

    staff_page.goto(f"{live_server.url}/staff/")

    expect(staff_page.get_by_role("heading", name="Program figures")).to_be_visible()
    expect(staff_page.get_by_test_id("reconciliation")).to_contain_text("the ledger check passed")
    assert staff_page.locator("svg.chart").count() == 3
    expect(staff_page.get_by_role("link", name="Download CSV").first).to_be_visible()
    shoot(staff_page, "staff-dashboard")
    with staff_page.expect_download() as download:
        staff_page.get_by_role("link", name="Download CSV").first.click()
    assert download.value.suggested_filename.startswith("points-")


def test_the_tier_what_if_page(staff_page, live_server, program):
    build_busy_program(now=timezone.now())

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
    expect(staff_page.get_by_text("Published: 2 tier(s) changed.")).to_be_visible()
    assert Tier.objects.get(code="gold").multiplier == 175 / 100
