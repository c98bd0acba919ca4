"""Every write of the webhooks: endpoints (stores over the API, staff in admin), matching
events to endpoints (dispatch), and staff's resends. Sending is ``delivery``."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from ..audit import audit_record
from ..errors import InvalidRequest, NotFound
from ..locks import lock_free_rows, lock_row
from ..models import Member, Store, User
from ..stores import related_to_store
from . import conf
from .addresses import endpoint_url_check
from .events import EVENT_TYPES
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

MAX_ENDPOINTS_PER_STORE = 10
DISPATCH_CHUNK = 500

Status = WebhookDelivery.Status


class WebhookEndpointNotFound(NotFound):
    default_message = "No such webhook endpoint."


def event_types_check(events: object) -> list[str]:
    """The event types, each once in the contract's order; else ``InvalidRequest``."""
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise InvalidRequest(fields={"events": ["A list of one or more event types."]})
    unknown = sorted({e for e in events if e not in EVENT_TYPES})
    if unknown:
        shown = ", ".join(repr(e[:40]) for e in unknown[:5])
        raise InvalidRequest(
            fields={"events": [f"Unknown event type: {shown}. Known: {', '.join(EVENT_TYPES)}."]}
        )
    return [e for e in EVENT_TYPES if e in events]


def endpoint_create(
    *, store: Store | None, url: object, events: object, description: str = "", actor: User | None = None
) -> WebhookEndpoint:
    """A new endpoint of ``store`` (or of the program, with no store). Its secret is on the
    returned row; the API shows it this once."""
    url = endpoint_url_check(url)
    events = event_types_check(events)
    with transaction.atomic():
        if store is not None:
            # Two registrations at once count each other.
            lock_row(Store.objects.filter(pk=store.pk))
            live = WebhookEndpoint.objects.filter(store=store, deleted_at__isnull=True).count()
            if live >= MAX_ENDPOINTS_PER_STORE:
                raise InvalidRequest(f"A store has at most {MAX_ENDPOINTS_PER_STORE} webhook endpoints.")
        endpoint = WebhookEndpoint.objects.create(
            store=store, url=url, events=events, description=description[:200]
        )
        if actor is not None:
            audit_record(
                actor=actor,
                action="webhook_endpoint_created",
                details={"endpoint": endpoint.pk, "url": url, "store": store.pk if store else None},
            )
    return endpoint


def _valid_pk(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def endpoint_delete(*, store: Store, endpoint_id: object, now: datetime | None = None) -> None:
    """Remove one of ``store``'s own endpoints: nothing more is sent to it; its deliveries stay
    listed in admin. Another store's, or an unknown one, is ``WebhookEndpointNotFound``."""
    now = now or timezone.now()
    if not _valid_pk(endpoint_id):
        raise WebhookEndpointNotFound()
    with transaction.atomic():
        removed = WebhookEndpoint.objects.filter(pk=endpoint_id, store=store, deleted_at__isnull=True).update(
            deleted_at=now, is_active=False
        )
        if not removed:
            raise WebhookEndpointNotFound()
        _pending_give_up(WebhookDelivery.objects.filter(endpoint_id=endpoint_id), "the endpoint was deleted")


def _pending_give_up(deliveries, reason: str) -> int:
    return deliveries.filter(status=Status.PENDING).update(
        status=Status.FAILED, lease_until=None, last_error=reason[:300]
    )


def endpoint_enable(*, endpoint: WebhookEndpoint, actor: User) -> None:
    """Staff turn a disabled endpoint on again (its failed deliveries can then be resent)."""
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk, deleted_at__isnull=True).update(
            is_active=True, disabled_at=None, disabled_reason="", failing_since=None
        )
        audit_record(actor=actor, action="webhook_endpoint_enabled", details={"endpoint": endpoint.pk})


def endpoint_disable_if_failing(*, endpoint_id: int, failing_for, now: datetime) -> bool:
    """Disable the endpoint when it has failed since ``now - failing_for`` with no success in
    between: its pending deliveries fail, an audit event records it and staff are mailed after
    commit. True when this call disabled it."""
    reason = f"Failing since more than {failing_for} without a success."
    with transaction.atomic():
        disabled = WebhookEndpoint.objects.filter(
            pk=endpoint_id, is_active=True, failing_since__lte=now - failing_for
        ).update(is_active=False, disabled_at=now, disabled_reason=reason[:200])
        if not disabled:
            return False
        _pending_give_up(WebhookDelivery.objects.filter(endpoint_id=endpoint_id), "the endpoint was disabled")
        audit_record(
            actor=None,
            action="webhook_endpoint_disabled",
            details={"endpoint": endpoint_id, "reason": reason},
        )
        from .tasks import webhook_endpoint_disabled_notify_task

        transaction.on_commit(lambda: webhook_endpoint_disabled_notify_task.delay(endpoint_id), robust=True)
    return True


@dataclass
class Dispatched:
    events: int = 0
    deliveries: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))

    @property
    def delivery_count(self) -> int:
        return sum(len(ids) for ids in self.deliveries.values())


def events_dispatch_chunk(*, now: datetime | None = None, limit: int = DISPATCH_CHUNK) -> Dispatched:
    """Match up to ``limit`` undispatched events to the endpoints that should hear them, in one
    transaction: a delivery per (event, endpoint), the events marked dispatched. Rows another
    worker is dispatching are skipped. A partner's endpoint gets an event only about a member
    related to the partner (``related_to_store``, one query per partner endpoint and chunk) or
    about a change the partner made itself. The deliveries are queued after commit."""
    now = now or timezone.now()
    retry_until = now + conf.retry_window()
    result = Dispatched()
    with transaction.atomic():
        events = lock_free_rows(
            WebhookEvent.objects.filter(dispatched_at__isnull=True).only(
                "pk", "type", "member_id", "store_id"
            ),
            limit,
        )
        if not events:
            return result
        endpoints = WebhookEndpoint.objects.filter(is_active=True, deleted_at__isnull=True).select_related(
            "store"
        )
        rows = []
        for endpoint in endpoints:
            wanted = [event for event in events if event.type in endpoint.events]
            store = endpoint.store
            if wanted and store is not None and store.is_partner:
                asked = {e.member_id for e in wanted if e.member_id and e.store_id != store.pk}
                related = set(
                    Member.objects.filter(related_to_store(store), pk__in=asked).values_list("pk", flat=True)
                    if asked
                    else []
                )
                wanted = [e for e in wanted if e.store_id == store.pk or e.member_id in related]
            rows += [
                WebhookDelivery(
                    event_id=e.pk,
                    endpoint_id=endpoint.pk,
                    next_attempt_at=now,
                    retry_until=retry_until,
                    created_at=now,
                )
                for e in wanted
            ]
        event_ids = [event.pk for event in events]
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
        WebhookEvent.objects.filter(pk__in=event_ids).update(dispatched_at=now)
        result.events = len(events)
        if rows:
            for endpoint_id, delivery_id in WebhookDelivery.objects.filter(
                event_id__in=event_ids, status=Status.PENDING
            ).values_list("endpoint_id", "pk"):
                result.deliveries[endpoint_id].append(delivery_id)
            from .tasks import deliveries_enqueue

            batches = dict(result.deliveries)
            transaction.on_commit(lambda: deliveries_enqueue(batches), robust=True)
    return result


def deliveries_resend(
    *,
    deliveries: Iterable[WebhookDelivery] | None = None,
    endpoint: WebhookEndpoint | None = None,
    actor: User,
    now: datetime | None = None,
) -> int:
    """Staff send deliveries again now: the ones chosen (unless pending already), or every
    failed one of ``endpoint``. Deliveries of a disabled endpoint wait until it is enabled."""
    now = now or timezone.now()
    if endpoint is not None:
        selection = WebhookDelivery.objects.filter(endpoint=endpoint, status=Status.FAILED)
    else:
        selection = WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries or []]).exclude(
            status=Status.PENDING
        )
    selection = selection.filter(endpoint__is_active=True)
    with transaction.atomic():
        chosen = list(selection.values_list("endpoint_id", "pk"))
        if not chosen:
            return 0
        WebhookDelivery.objects.filter(pk__in=[pk for _, pk in chosen]).update(
            status=Status.PENDING,
            next_attempt_at=now,
            lease_until=None,
            retry_until=now + conf.retry_window(),
        )
        audit_record(
            actor=actor,
            action="webhook_deliveries_resent",
            details={"deliveries": [pk for _, pk in chosen][:1000], "count": len(chosen)},
        )
        batches: dict[int, list[int]] = defaultdict(list)
        for endpoint_id, pk in chosen:
            batches[endpoint_id].append(pk)
        from .tasks import deliveries_enqueue

        transaction.on_commit(lambda: deliveries_enqueue(dict(batches)), robust=True)
    return len(chosen)


PURGE_BATCH = 5000


def webhook_history_purge(*, now: datetime | None = None, batch: int = PURGE_BATCH) -> int:
    """Delete the events dispatched more than ``conf.keep_days()`` ago none of whose deliveries
    is still pending, with their deliveries and attempts; returns how many events. Oldest first,
    ``batch`` events per transaction: a run stopped halfway leaves whole events, and the next run
    goes on. The outbox would otherwise grow by every change the program ever made."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=conf.keep_days())
    pending = WebhookDelivery.objects.filter(event=OuterRef("pk"), status=WebhookDelivery.Status.PENDING)
    finished = (
        WebhookEvent.objects.filter(dispatched_at__isnull=False, created_at__lt=cutoff)
        .exclude(Exists(pending))
        .order_by("pk")
    )
    purged = 0
    while True:
        with transaction.atomic():
            ids = list(finished.values_list("pk", flat=True)[:batch])
            if not ids:
                return purged
            # The attempts in one statement first, so the cascade reads back only the deliveries.
            WebhookAttempt.objects.filter(delivery__event_id__in=ids).delete()
            WebhookEvent.objects.filter(pk__in=ids).delete()
        purged += len(ids)
