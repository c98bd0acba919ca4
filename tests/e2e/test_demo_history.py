"""The demo on first run: a year of history, so the member's 12-month chart and the staff
figures show a program that has been running (screenshots ``demo-*.png``)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from playwright.sync_api import expect

from members.demo import MEMBER_LOGIN, STAFF_LOGIN
from members.models import User
from tests.e2e.conftest import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_demo_shows_twelve_months(live_server, new_context):
    call_command("seed_demo", "--force", stdout=StringIO())
    base = live_server.url

    page = new_context().new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(MEMBER_LOGIN[0])
    page.get_by_label("Password").fill(MEMBER_LOGIN[1])
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/portal/")
    months_with_points = page.locator("svg.chart-svg rect.earned").count()
    assert months_with_points == 12, months_with_points
    shoot(page, "demo-member-dashboard")

    client = Client()
    client.force_login(User.objects.get(email=STAFF_LOGIN[0]))
    staff = new_context()
    staff.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
          "url": base}]
    )  # fmt: skip
    staff_page = staff.new_page()
    staff_page.goto(f"{base}/staff/")
    expect(staff_page.get_by_role("heading", name="Program figures")).to_be_visible()
    shoot(staff_page, "demo-staff-dashboard")
