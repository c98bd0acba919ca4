"""The engagement pages in a real browser, at desktop and phone widths: challenges with their
progress bars and badges, the streak on the dashboard, badges on the profile, events with an
RSVP, the check-in a member makes from the event's code, and the opt-in leaderboard."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.engagement.demo import seed_program as seed_rules
from campaigns.engagement.models import Event, EventCheckIn, EventRsvp
from campaigns.services import purchase_record
from members.demo import seed_program
from members.ledger.invariants import ledger_violations
from tests import factories
from tests.e2e.conftest import DESKTOP, PHONE, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-password-7"


def _member_with_history():
    seed_program()
    seed_rules()
    user = factories.UserFactory(email="ada@example.org", password=PASSWORD)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    member = factories.MemberFactory(email=user.email, first_name="Ada", user=user)
    store = factories.StoreFactory(name="High Street")
    now = timezone.now()
    for n, days_ago in enumerate([15, 8, 1]):
        purchase_record(
            store=store,
            member_number=member.member_number,
            external_id=f"e2e-{n}",
            amount="42.00",
            currency="USD",
            purchased_at=now - timedelta(days=days_ago),
        )
    Event.objects.create(
        code="tasting",
        name="Spring tasting evening",
        place="High Street shop",
        description="Taste the new season's coffees.",
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=4),
        capacity=20,
        check_in_opens_at=now - timedelta(hours=1),
        check_in_closes_at=now + timedelta(hours=5),
        points=150,
    )
    return user, member


def _log_in(page, base, email):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("viewport, name", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_engagement_pages(live_server, new_context, viewport, name):
    user, member = _member_with_history()
    base = live_server.url
    page = new_context(viewport=viewport).new_page()
    _log_in(page, base, user.email)

    # 15, 8 and 1 days ago: two or three ISO weeks in a row, depending on today's weekday
    expect(page.get_by_test_id("streak")).to_contain_text(re.compile(r"\b[23] weeks\b"))
    shoot(page, f"engagement-dashboard-{name}")

    page.get_by_role("navigation", name="My membership").get_by_role("link", name="Challenges").click()
    expect(page).to_have_url(f"{base}/portal/challenges/")
    challenge = page.get_by_test_id("challenge-three-visits")
    expect(challenge).to_contain_text("Completed")
    expect(challenge.locator("progress")).to_have_attribute("value", "3")
    expect(page.get_by_test_id("badges")).to_contain_text("Regular")
    expect(page.get_by_test_id("badges")).to_contain_text("First purchase")
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    shoot(page, f"engagement-challenges-{name}")

    page.goto(f"{base}/portal/profile/")
    expect(page.get_by_test_id("badges")).to_contain_text("Regular")
    shoot(page, f"engagement-profile-{name}")

    page.goto(f"{base}/portal/events/")
    page.get_by_role("button", name="I'm going").click()
    expect(page.get_by_test_id("event-tasting")).to_contain_text("You are going")
    assert EventRsvp.objects.filter(member=member).count() == 1
    shoot(page, f"engagement-events-{name}")

    event = Event.objects.get(code="tasting")
    page.goto(f"{base}/portal/events/tasting/check-in/{event.check_in_secret}/")
    page.get_by_role("button", name="Check me in").click()
    expect(page.get_by_text("150 points are yours")).to_be_visible()
    assert EventCheckIn.objects.filter(member=member, event=event).count() == 1
    event.refresh_from_db()
    assert event.seats_taken == 1  # the RSVP's seat, not a second one

    page.goto(f"{base}/portal/leaderboard/")
    page.get_by_label("Nickname").fill("ada_l")
    page.get_by_role("button", name="Join").click()
    expect(page.get_by_role("table")).to_contain_text("ada_l")
    expect(page.get_by_role("table")).not_to_contain_text("Ada")
    shoot(page, f"engagement-leaderboard-{name}")
    assert ledger_violations() == []
