"""A member's rights in a real browser: download their data, then close their account; the
ledger still holds afterwards."""

from __future__ import annotations

import io
import json
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from members.ledger.services import points_credit
from members.models import Member, User
from members.services import member_enroll
from tests.e2e.conftest import shoot
from tests.portal.conftest import verified_user

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password"


def test_download_my_data_then_close_my_account(live_server, new_context, program):
    user = verified_user("rita@example.org", first_name="Rita", last_name="Rights")
    member = member_enroll(email=user.email, first_name="Rita", last_name="Rights", user=user)
    points_credit(member_id=member.pk, points=420, idempotency_key="e2e:rights", source_type="system")
    base = live_server.url
    page = new_context(accept_downloads=True).new_page()

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/portal/")

    page.goto(f"{base}/portal/profile/")
    with page.expect_download() as download_info:
        page.get_by_test_id("export").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".zip")
    archive = zipfile.ZipFile(io.BytesIO(download.path().read_bytes()))
    document = json.loads(archive.read("member.json"))
    assert document["profile"]["email"] == "rita@example.org"
    assert document["ledger"][0]["points"] == 420

    page.get_by_role("link", name="Close my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Close my account")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_test_id("close-confirm").click()
    expect(page.get_by_text("That is not your password.")).to_be_visible()
    shoot(page, "close-account")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_test_id("close-confirm").click()
    expect(page.get_by_text("Your account is closed")).to_be_visible()
    shoot(page, "account-closed")

    member.refresh_from_db()
    assert member.status == Member.Status.ERASED and member.points_available == 0
    assert not User.objects.filter(email="rita@example.org").exists()
    call_command("check_ledger", stdout=StringIO())  # raises when an invariant breaks

    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill("rita@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{base}/accounts/login/")
