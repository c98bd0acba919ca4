"""POST /api/v1/activities/ through HTTP: points at once (201), staff approval (202, then the
admin action), replays (200), limits per member and period, and the errors."""

from __future__ import annotations

import pytest
from django.urls import reverse

from campaigns.models import ActionRule, Activity
from campaigns.services import activity_submit, ways_to_earn
from members.models import AuditEvent, LedgerEntry, Member

pytestmark = pytest.mark.django_db
URL = "/api/v1/activities/"


@pytest.fixture
def rules(program):
    from campaigns.demo import seed_program

    seed_program()
    return {rule.kind: rule for rule in ActionRule.objects.all()}


def payload(member: Member, kind: str = "review", external_id: str = "A-1", **extra) -> dict:
    return {"member": member.member_number, "type": kind, "external_id": external_id, **extra}


def test_a_review_earns_its_points_at_once(api_client, member, rules):
    response = api_client.post(URL, payload(member), format="json")

    assert response.status_code == 201
    assert response.json() == {
        "external_id": "A-1",
        "type": "review",
        "status": "approved",
        "points_awarded": 50,
    }
    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.source_type, entry.description) == (
        "bonus",
        50,
        "activity",
        "Write a product review",
    )
    member.refresh_from_db()
    assert member.points_available == 50


def test_a_replay_answers_200_and_another_payload_is_a_409(api_client, member, rules):
    first = api_client.post(URL, payload(member), format="json")

    replay = api_client.post(URL, payload(member), format="json")
    conflict = api_client.post(URL, payload(member, kind="event_attendance"), format="json")

    assert (first.status_code, replay.status_code, conflict.status_code) == (201, 200, 409)
    assert replay.json() == first.json()
    assert conflict.json()["error"]["code"] == "duplicate_external_id"
    assert LedgerEntry.objects.count() == 1 and Activity.objects.count() == 1


def test_a_social_share_waits_for_staff_then_pays(api_client, member, rules, client, staff_user):
    response = api_client.post(
        URL, payload(member, "social_share", url="https://social.example/post/1"), format="json"
    )

    assert response.status_code == 202
    assert response.json()["status"] == "pending" and response.json()["points_awarded"] == 0
    assert not LedgerEntry.objects.exists()

    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    activity = Activity.objects.get()
    admin_response = client.post(
        reverse("admin:campaigns_activity_changelist"),
        {"action": "approve", "_selected_action": [activity.pk]},
    )

    assert admin_response.status_code == 302
    activity.refresh_from_db()
    assert (activity.status, activity.points_awarded, activity.reviewed_by) == ("approved", 25, staff_user)
    assert LedgerEntry.objects.get(member=member).points == 25
    assert AuditEvent.objects.get(action="activity_approved").actor == staff_user
    # Approving again changes nothing.
    client.post(
        reverse("admin:campaigns_activity_changelist"),
        {"action": "approve", "_selected_action": [activity.pk]},
    )
    assert LedgerEntry.objects.count() == 1


def test_a_rejected_share_pays_nothing(member, rules, staff_user):
    from campaigns.services import activity_reject

    outcome = activity_submit(member=member, kind="social_share", external_id="s1", url="https://x.example/1")

    activity_reject(activity_id=outcome.activity.pk, staff_user=staff_user)

    outcome.activity.refresh_from_db()
    assert outcome.activity.status == "rejected" and not LedgerEntry.objects.exists()
    assert AuditEvent.objects.filter(action="activity_rejected", actor=staff_user).count() == 1


def test_the_limit_per_member_and_period_is_a_409(api_client, member, rules):
    for i in range(3):
        assert api_client.post(URL, payload(member, external_id=f"A-{i}"), format="json").status_code == 201

    response = api_client.post(URL, payload(member, external_id="A-9"), format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "limit_reached"
    assert LedgerEntry.objects.filter(member=member).count() == 3


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"member": "0000000000"}, 404, "not_found"),
        ({"type": "birthday"}, 400, "invalid"),
        ({"type": "social_share"}, 400, "invalid"),  # no link
        ({"external_id": ""}, 400, "invalid"),
    ],
)
def test_errors(api_client, member, rules, change, status, code):
    response = api_client.post(URL, {**payload(member), **change}, format="json")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert not Activity.objects.exists()


def test_an_inactive_rule_is_refused(api_client, member, rules):
    ActionRule.objects.filter(kind="event_attendance").update(is_active=False)

    response = api_client.post(URL, payload(member, "event_attendance"), format="json")

    assert response.status_code == 400 and not Activity.objects.exists()


def test_an_activity_takes_a_bounded_number_of_queries(
    api_client, member, rules, django_assert_max_num_queries
):
    with django_assert_max_num_queries(23):
        response = api_client.post(URL, payload(member), format="json")

    assert response.status_code == 201


def test_the_portal_submits_without_a_store_and_lists_ways_to_earn(member, rules):
    outcome = activity_submit(member=member, kind="event_attendance", external_id="evt-7")
    replay = activity_submit(member=member, kind="event_attendance", external_id="evt-7")

    assert outcome.created and not replay.created
    assert outcome.activity.store is None and outcome.activity.points_awarded == 150
    assert [rule.kind for rule in ways_to_earn()] == sorted(rules)
