"""Sending one delivery: claim it, write the attempt, POST the signed event, record the answer.

A delivery is claimed with one conditional UPDATE (due, pending, no live lease), which also
counts the attempt; the attempt row is committed before the request goes out, with its own id
(sent as ``Loyalty-Attempt-Id``). If the worker dies mid-request, the lease runs out, the
next claim marks that attempt lost and makes a new one: the receiver may see the event again
(at least once, same ``Loyalty-Event-Id``), but never the same attempt id twice.

A non-2xx answer, a redirect, a timeout or an address that is not allowed is a failure: the
delivery is retried after ``retry_delay`` (exponential, with jitter; the first within a
minute) until its ``retry_until``, and an endpoint that has failed for
``LOYALTY_WEBHOOKS_DISABLE_AFTER_HOURS`` with no success is disabled.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import conf
from .addresses import AddressNotAllowed, delivery_address_check
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .services import endpoint_disable_if_failing
from .signing import ATTEMPT_ID_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER, signature_header

Status = WebhookDelivery.Status
Outcome = WebhookAttempt.Outcome


@dataclass(frozen=True)
class Sent:
    """What one call of ``delivery_send`` did: ``succeeded``, ``retrying`` (again in
    ``retry_in``), ``failed`` (no more retries), ``busy`` (another worker holds it, until
    ``retry_in``) or ``skipped`` (not due, or not pending)."""

    outcome: str
    retry_in: timedelta | None = None


def retry_delay(attempts: int, *, rng: random.Random | None = None) -> timedelta:
    """The wait after ``attempts`` failed attempts: 30 s doubling to at most 6 hours, each
    between half and one and a half times that."""
    base = min(conf.FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), conf.MAX_RETRY_SECONDS)
    return timedelta(seconds=base * (rng or random).uniform(0.5, 1.5))


def event_body(event: WebhookEvent) -> bytes:
    """The POST body: ``{"id", "type", "created_at", "data"}``, the bytes that are signed."""
    payload = {
        "id": event.public_id,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "data": {"member_number": event.member.member_number if event.member else None, **event.data},
    }
    return json.dumps(payload, cls=DjangoJSONEncoder, separators=(",", ":")).encode()


def _claim(delivery_id: int, now: datetime) -> Sent | None:
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lte=now))
        .update(lease_until=now + conf.lease(), attempts=F("attempts") + 1)
    )
    if claimed:
        return None
    held = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING, lease_until__gt=now)
        .values_list("lease_until", flat=True)
        .first()
    )
    return Sent("busy", held - now) if held else Sent("skipped")


def delivery_send(
    *, delivery_id: int, now: datetime | None = None, post: Callable[..., requests.Response] = requests.post
) -> Sent:
    """Make one attempt of delivery ``delivery_id`` if it is due and no other worker holds it."""
    now = now or timezone.now()
    if refused := _claim(delivery_id, now):
        return refused
    delivery = WebhookDelivery.objects.select_related("event__member", "endpoint").get(pk=delivery_id)
    WebhookAttempt.objects.filter(delivery_id=delivery_id, outcome=Outcome.IN_FLIGHT).update(
        outcome=Outcome.LOST, finished_at=now, error="No answer recorded: the worker stopped mid-request."
    )
    endpoint = delivery.endpoint
    if not endpoint.is_active:
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=Status.FAILED,
            lease_until=None,
            attempts=F("attempts") - 1,
            last_error="The endpoint is disabled.",
        )
        return Sent("failed")
    attempt = WebhookAttempt.objects.create(delivery=delivery, number=delivery.attempts, started_at=now)
    body = event_body(delivery.event)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "loyalty-webhooks/1",
        EVENT_ID_HEADER: delivery.event.public_id,
        ATTEMPT_ID_HEADER: str(attempt.attempt_id),
        SIGNATURE_HEADER: signature_header(endpoint.secret, body),
    }
    started = time.monotonic()
    status_code, error = None, ""
    try:
        delivery_address_check(endpoint.url)
        timeout = conf.timeout_seconds()
        # stream: the answer's status is all we need; its body is never read.
        with post(
            endpoint.url,
            data=body,
            headers=headers,
            timeout=(timeout, timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except AddressNotAllowed as refusal:
        error = f"Not sent: {refusal}"
    except requests.Timeout:
        error = f"No answer within {conf.timeout_seconds():g} s."
    except requests.RequestException as failure:
        error = f"{type(failure).__name__}: {failure}"
    duration_ms = int((time.monotonic() - started) * 1000)
    return _attempt_record(delivery, attempt, status_code=status_code, error=error, duration_ms=duration_ms)


def _attempt_record(
    delivery: WebhookDelivery,
    attempt: WebhookAttempt,
    *,
    status_code: int | None,
    error: str,
    duration_ms: int,
) -> Sent:
    finished = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.filter(pk=attempt.pk).update(
            outcome=Outcome.FAILED if error else Outcome.SUCCEEDED,
            status_code=status_code,
            error=error[:300],
            duration_ms=duration_ms,
            finished_at=finished,
        )
        this = WebhookDelivery.objects.filter(pk=delivery.pk)
        if not error:
            this.update(
                status=Status.SUCCEEDED,
                delivered_at=finished,
                lease_until=None,
                last_status_code=status_code,
                last_error="",
            )
            WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=False).update(
                failing_since=None
            )
            return Sent("succeeded")
        delay = retry_delay(delivery.attempts)
        gave_up = finished + delay > delivery.retry_until
        this.update(
            status=Status.FAILED if gave_up else Status.PENDING,
            next_attempt_at=finished + delay,
            lease_until=None,
            last_status_code=status_code,
            last_error=error[:300],
        )
        WebhookEndpoint.objects.filter(pk=delivery.endpoint_id, failing_since__isnull=True).update(
            failing_since=finished
        )
        endpoint_disable_if_failing(
            endpoint_id=delivery.endpoint_id, failing_for=conf.disable_after(), now=finished
        )
    return Sent("failed") if gave_up else Sent("retrying", delay)
