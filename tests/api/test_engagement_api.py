"""The contract's engagement endpoints over HTTP: a member's badges, challenges and streak;
event check-ins (once per member, capacity, check-in window)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.engagement.demo import seed_program as seed_rules
from campaigns.engagement.models import Event, EventCheckIn
from campaigns.services import purchase_record
from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def defaults(program):
    from campaigns.demo import seed_program as seed_action_rules

    seed_action_rules()
    seed_rules()


def buy(store, member, external_id, days_ago=0):
    return purchase_record(
        store=store,
        member_number=member.member_number,
        external_id=external_id,
        amount="30.00",
        currency="USD",
        purchased_at=timezone.now() - timedelta(days=days_ago, minutes=1),
    )


def event(code="tasting", capacity=2, opens=-1, closes=2, points=150) -> Event:
    now = timezone.now()
    return Event.objects.create(
        code=code,
        name="Tasting",
        place="Shop",
        starts_at=now,
        ends_at=now + timedelta(hours=3),
        capacity=capacity,
        check_in_opens_at=now + timedelta(hours=opens),
        check_in_closes_at=now + timedelta(hours=closes),
        points=points,
    )


def test_engagement_answers_the_contract_shape(
    defaults, api_client, store, member, django_assert_max_num_queries
):
    for n, days_ago in enumerate([15, 8, 1]):
        buy(store, member, f"P-{n}", days_ago)
    with django_assert_max_num_queries(8):
        response = api_client.get(f"/api/v1/members/{member.member_number}/engagement/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"badges", "challenges", "streak"}
    assert [(b["code"], b["name"]) for b in body["badges"]] == [
        ("first-purchase", "First purchase"),
        ("regular", "Regular"),
    ]
    assert all(set(b) == {"code", "name", "earned_at"} for b in body["badges"])
    (challenge,) = body["challenges"]
    assert set(challenge) == {"code", "name", "progress", "target", "completed_at"}
    assert (challenge["code"], challenge["progress"], challenge["target"]) == ("three-visits", 3, 3)
    assert challenge["completed_at"] is not None
    assert body["streak"] == {"current_weeks": 3, "best_weeks": 3} or body["streak"]["best_weeks"] >= 2
    entry = LedgerEntry.objects.get(member=member, source_type="campaign")
    assert entry.points == 150
    assert ledger_violations() == []


def test_a_new_member_has_an_empty_engagement(defaults, api_client, member):
    body = api_client.get(f"/api/v1/members/{member.member_number}/engagement/").json()
    assert body == {
        "badges": [],
        "challenges": [
            {"code": "three-visits", "name": "Three visits", "progress": 0, "target": 3, "completed_at": None}
        ],
        "streak": {"current_weeks": 0, "best_weeks": 0},
    }


def test_an_unknown_member_is_404(api_client, program):
    response = api_client.get("/api/v1/members/0000000000/engagement/")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_a_check_in_pays_the_event_points_once(api_client, member, program, django_assert_max_num_queries):
    tasting = event()
    with django_assert_max_num_queries(30):
        first = api_client.post(
            "/api/v1/events/tasting/check-ins/", {"member": member.member_number}, format="json"
        )
    assert first.status_code == 201 and first.json()["points"] == 150
    again = api_client.post(
        "/api/v1/events/tasting/check-ins/", {"member": member.member_number}, format="json"
    )
    assert again.status_code == 200 and again.json()["points"] == 150
    assert Member.objects.get(pk=member.pk).points_available == 150
    assert EventCheckIn.objects.filter(event=tasting).count() == 1
    tasting.refresh_from_db()
    assert tasting.seats_taken == 1
    assert ledger_violations() == []


def test_past_capacity_is_event_full_and_changes_nothing(api_client, program):
    event(capacity=1)
    first, second = factories.MemberFactory(), factories.MemberFactory()
    assert (
        api_client.post(
            "/api/v1/events/tasting/check-ins/", {"member": first.member_number}, format="json"
        ).status_code
        == 201
    )
    response = api_client.post(
        "/api/v1/events/tasting/check-ins/", {"member": second.member_number}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "event_full"
    assert Member.objects.get(pk=second.pk).points_available == 0


@pytest.mark.parametrize("opens, closes", [(1, 2), (-3, -1)])
def test_outside_the_check_in_window_is_event_closed(api_client, member, program, opens, closes):
    event(opens=opens, closes=closes)
    response = api_client.post(
        "/api/v1/events/tasting/check-ins/", {"member": member.member_number}, format="json"
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "event_closed"
    assert not EventCheckIn.objects.exists()


@pytest.mark.parametrize(
    "path, body, status",
    [
        ("/api/v1/events/nope/check-ins/", {"member": "x"}, 404),
        ("/api/v1/events/tasting/check-ins/", {"member": "0000000000"}, 404),
        ("/api/v1/events/tasting/check-ins/", {}, 400),
        ("/api/v1/events/tasting/check-ins/", {"member": 12}, 400),
    ],
)
def test_bad_input(api_client, program, path, body, status):
    event()
    assert api_client.post(path, body, format="json").status_code == status
    assert not EventCheckIn.objects.exists()


def test_community_post_is_an_activity_type_with_a_daily_limit(defaults, api_client, member):
    for n in range(3):
        response = api_client.post(
            "/api/v1/activities/",
            {"member": member.member_number, "type": "community_post", "external_id": f"post-{n}"},
            format="json",
        )
        assert response.status_code == 201
    response = api_client.post(
        "/api/v1/activities/",
        {"member": member.member_number, "type": "community_post", "external_id": "post-9"},
        format="json",
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "limit_reached"
