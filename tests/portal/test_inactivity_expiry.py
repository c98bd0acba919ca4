"""In inactivity expiry mode lots carry no date: the portal and the API give the day everything
lapses if the member does nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine
from django.urls import reverse

from members.api_keys import api_key_create, store_get_or_create
from members.ledger.services import points_credit
from members.models import Program
from tests.api.conftest import client_with_key

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)


def _inactivity_program() -> Program:
    program = Program.load()
    program.expiry_mode = Program.ExpiryMode.INACTIVITY
    program.expiry_days = 180
    program.save()
    return program


@time_machine.travel(NOW, tick=False)
def test_portal_and_api_show_when_everything_lapses(member_client, portal_member):
    _inactivity_program()
    points_credit(
        member_id=portal_member.pk,
        points=250,
        idempotency_key="k",
        source_type="system",
        now=NOW - timedelta(days=20),
    )
    lapses = (NOW - timedelta(days=20) + timedelta(days=180)).date()

    page = member_client.get(reverse("portal:dashboard"))
    assert page.context["expiring"][0].on == lapses and page.context["expiring"][0].points == 250
    assert b"Nothing is due to expire" not in page.content
    assert b'data-testid="lapse-note"' in page.content

    _, key = api_key_create(store=store_get_or_create(name="Till"), name="till")
    body = client_with_key(key).get(f"/api/v1/members/{portal_member.member_number}/").json()
    assert body["expiring"] == [{"points": 250, "expires_at": lapses.isoformat()}]


def test_a_member_without_points_has_nothing_to_lapse(member_client, portal_member):
    _inactivity_program()
    page = member_client.get(reverse("portal:dashboard"))
    assert page.context["expiring"] == []
