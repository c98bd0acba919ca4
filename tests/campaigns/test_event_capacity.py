"""Event capacity under concurrency: many RSVPs and check-ins at once never pass it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.engagement.events import event_check_in, event_rsvp
from campaigns.engagement.models import Event, EventCheckIn, EventRsvp
from campaigns.errors import EventFull
from members.ledger.invariants import ledger_violations
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_rsvps_and_check_ins_never_pass_the_capacity(program, threads):
    now = timezone.now()
    event = Event.objects.create(
        code="small",
        name="Small",
        place="Shop",
        starts_at=now,
        ends_at=now + timedelta(hours=2),
        capacity=5,
        check_in_opens_at=now - timedelta(hours=1),
        check_in_closes_at=now + timedelta(hours=2),
        points=20,
    )
    members = [factories.MemberFactory() for _ in range(12)]

    def attempt(i: int):
        if i % 2:
            return event_rsvp(member=members[i], event_code="small")
        return event_check_in(event_code="small", member_number=members[i].member_number)

    results = threads(12, attempt)
    full = [r for r in results if isinstance(r, EventFull)]
    assert not [r for r in results if isinstance(r, Exception) and not isinstance(r, EventFull)], results
    event.refresh_from_db()
    seats = EventRsvp.objects.filter(event=event).count() + EventCheckIn.objects.filter(event=event).count()
    assert event.seats_taken == seats == 5
    assert len(full) == 7
    assert ledger_violations() == []
