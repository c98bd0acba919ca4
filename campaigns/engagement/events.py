"""Community events: RSVPs from the portal, check-ins from a store's till (API) or from the
member scanning the event's code. A seat is an RSVP, or a check-in without one; seats are
counted on the event row, taken under its lock (``members.locks``), so concurrent RSVPs and
check-ins never go past the capacity. Writers lock the member first, then the event."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.errors import MemberInactive, MemberNotFound
from members.ledger.services import points_credit
from members.locks import lock_member, lock_row
from members.models import LedgerEntry, Member, Store

from ..errors import EventClosed, EventFull, EventNotFound
from .models import Event, EventCheckIn, EventRsvp
from .services import engagement_progress


@dataclass(frozen=True)
class CheckInOutcome:
    check_in: EventCheckIn
    created: bool


def _event(code: str) -> Event:
    event = Event.objects.filter(code=str(code)[:60], is_active=True).first()
    if event is None:
        raise EventNotFound()
    return event


def _take_seat(event: Event) -> None:
    locked = lock_row(Event.objects.filter(pk=event.pk))
    if locked.seats_taken >= locked.capacity:
        raise EventFull()
    Event.objects.filter(pk=event.pk).update(seats_taken=F("seats_taken") + 1)


def event_rsvp(*, member: Member, event_code: str, now: datetime | None = None) -> tuple[EventRsvp, bool]:
    """Hold a seat for ``member``; again: the same RSVP."""
    now = now or timezone.now()
    with transaction.atomic():
        event = _event(event_code)
        if now >= event.ends_at:
            raise EventClosed(_("The event is over."))
        lock_member(member.pk)
        if held := EventRsvp.objects.filter(event=event, member=member).first():
            return held, False
        if EventCheckIn.objects.filter(event=event, member=member).exists():
            raise EventClosed(_("You have already checked in."))
        _take_seat(event)
        return EventRsvp.objects.create(event=event, member=member, created_at=now), True


def event_rsvp_cancel(*, member: Member, event_code: str, now: datetime | None = None) -> bool:
    """Give the seat back (not once checked in)."""
    with transaction.atomic():
        event = _event(event_code)
        lock_member(member.pk)
        rsvp = EventRsvp.objects.filter(event=event, member=member).first()
        if rsvp is None or EventCheckIn.objects.filter(event=event, member=member).exists():
            return False
        lock_row(Event.objects.filter(pk=event.pk))
        rsvp.delete()
        Event.objects.filter(pk=event.pk, seats_taken__gt=0).update(seats_taken=F("seats_taken") - 1)
        return True


def event_check_in(
    *,
    event_code: str,
    member_number: str | None = None,
    member: Member | None = None,
    store: Store | None = None,
    secret: str | None = None,
    now: datetime | None = None,
) -> CheckInOutcome:
    """Check a member in: once per member (a second time answers the first), inside the
    event's check-in window, within its capacity; pays the event's points."""
    now = now or timezone.now()
    with transaction.atomic():
        event = _event(event_code)
        if secret is not None and not secrets.compare_digest(str(secret), event.check_in_secret):
            raise EventNotFound()
        member_id = (
            member.pk
            if member is not None
            else Member.objects.filter(member_number=str(member_number)).values_list("pk", flat=True).first()
        )
        if member_id is None:
            raise MemberNotFound()
        locked = lock_member(member_id)
        if done := EventCheckIn.objects.filter(event=event, member_id=member_id).first():
            return CheckInOutcome(done, created=False)
        if locked.status != Member.Status.ACTIVE:
            raise MemberInactive()
        if not (event.check_in_opens_at <= now < event.check_in_closes_at):
            raise EventClosed(_("Check-in is not open for this event now."))
        if not EventRsvp.objects.filter(event=event, member_id=member_id).exists():
            _take_seat(event)
        check_in = EventCheckIn.objects.create(
            event=event,
            member_id=member_id,
            store=store,
            channel=EventCheckIn.Channel.STORE if store else EventCheckIn.Channel.PORTAL,
            points=event.points,
            created_at=now,
        )
        if event.points:
            points_credit(
                member_id=member_id,
                points=event.points,
                kind=LedgerEntry.Kind.BONUS,
                idempotency_key=f"event-check-in:{check_in.pk}",
                source_type=LedgerEntry.Source.ACTIVITY,
                source_id=f"event:{event.pk}",
                description=f"Event: {event.name}"[:255],
                store=store,
                now=now,
            )
        engagement_progress(member=locked, trigger=f"check-in:{check_in.pk}", now=now)
        return CheckInOutcome(check_in, created=True)
