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
