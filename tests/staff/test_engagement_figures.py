"""Staff engagement figures: participation and completion per challenge, badge counts, engaged
members by month; a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.engagement.demo import seed_program as seed_rules
from campaigns.services import purchase_record
from tests import factories

pytestmark = pytest.mark.django_db
URL = "/staff/engagement/"


def test_a_program_manager_sees_the_engagement_figures(client, manager, django_assert_max_num_queries):
    seed_rules()
    store = factories.StoreFactory()
    now = timezone.now()
    for n in range(3):
        member = factories.MemberFactory()
        for k in range(n + 1):
            purchase_record(
                store=store,
                member_number=member.member_number,
                external_id=f"{n}-{k}",
                amount="10.00",
                currency="USD",
                purchased_at=now - timedelta(days=k),
            )
    client.force_login(manager)
    with django_assert_max_num_queries(25):
        response = client.get(URL)
    assert response.status_code == 200
    figures = response.context["figures"]
    (three,) = figures.challenges
    assert (three.code, three.participants, three.completions) == ("three-visits", 3, 1)
    assert dict((code, n) for code, _, n in figures.badges) == {"first-purchase": 3, "regular": 1}
    assert figures.engaged[-1][1] == 3
    assert "Engaged members by month" in response.content.decode()


def test_other_staff_roles_are_sent_to_admin(client, agent):
    client.force_login(agent)
    assert client.get(URL).status_code == 302


def test_each_upcoming_event_has_a_check_in_poster_whose_link_checks_a_member_in(client, manager, settings):
    """Given an event: the staff page shows its check-in QR code with the full address; that
    address, opened by a logged-in member, checks them in."""
    from campaigns.models import Event, EventCheckIn
    from members.models import User

    settings.LOYALTY_SITE_URL = "https://rewards.example.com"
    now = timezone.now()
    event = Event.objects.create(
        code="tasting", name="Tasting", place="Shop", starts_at=now, ends_at=now + timedelta(hours=3),
        capacity=5, check_in_opens_at=now - timedelta(hours=1), check_in_closes_at=now + timedelta(hours=2),
        points=150,
    )  # fmt: skip
    client.force_login(manager)

    html = client.get(URL).content.decode()

    (poster,) = client.get(URL).context["posters"]
    assert (
        poster.url == f"https://rewards.example.com/portal/events/tasting/check-in/{event.check_in_secret}/"
    )
    assert 'data-testid="check-in-poster"' in html and "<svg" in str(poster.qr) and poster.url in html
    guest = User.objects.create_user(email="guest@example.org", password="x" * 12)
    member = factories.MemberFactory(user=guest)
    client.force_login(member.user)
    client.post(poster.url.removeprefix("https://rewards.example.com"))
    assert EventCheckIn.objects.filter(event=event, member=member).exists()
