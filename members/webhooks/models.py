"""The outbox of events and their delivery to stores' webhook endpoints.

- ``WebhookEvent`` is the outbox: one row per event, written by ``event_record`` (or, for a
  bulk job, ``events_record_sql``) in the transaction of the change it describes, so a change
  rolled back leaves no event and a committed one always has its row. ``dispatched_at`` is set
  once the event has been matched to the endpoints that should hear it.
- ``WebhookEndpoint`` is where a store (or the program, with no store) wants events posted,
  with the secret the posts are signed with.
- ``WebhookDelivery`` is one event for one endpoint: pending until a 2xx answer, retried with
  backoff, failed when the retry window is over or the endpoint was disabled.
- ``WebhookAttempt`` is one POST of a delivery. It is written before the request goes out, so
  an attempt a dead worker started is still listed (as lost) and no attempt id is ever sent
  twice.
"""

from __future__ import annotations

import secrets
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


def new_webhook_secret() -> str:
    return f"whsec_{secrets.token_hex(24)}"


class WebhookEndpoint(models.Model):
    """A URL that receives the events it subscribed to. An endpoint of a partner store hears
    only about members related to that store; one of an own store, or one with no store (the
    program's CRM, set up by staff), hears about every member."""

    store = models.ForeignKey(
        "members.Store", null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list, help_text="The event types it receives.")
    secret = models.CharField(max_length=64, default=new_webhook_secret, editable=False)
    description = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(default=True)
    # Set at the first failure after a success; an endpoint failing for
    # LOYALTY_WEBHOOKS_DISABLE_AFTER_HOURS is disabled and staff are told.
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["store", "id"], name="webhook_endpoint_store")]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """Something that happened in the program, as stores hear about it."""

    type = models.CharField(max_length=40)
    member = models.ForeignKey(
        "members.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The store the change was made for (its purchase, redemption, enrolment), if any.
    store = models.ForeignKey(
        "members.Store", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    data = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["id"], condition=Q(dispatched_at__isnull=True), name="webhook_event_undispatched"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"

    @property
    def public_id(self) -> str:
        # From the primary key: a bulk job's INSERT ... SELECT writes thousands of events, and a
        # random unique id would cost it an index of random keys.
        return f"evt_{self.pk}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # No retry is scheduled past this (LOYALTY_WEBHOOKS_RETRY_HOURS after the delivery was made,
    # or resent by staff); a failure then fails the delivery.
    retry_until = models.DateTimeField()
    # While set and in the future, one worker is sending this delivery; a worker that dies
    # mid-request leaves it to expire, and the next claim finds its attempt lost.
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once_per_endpoint"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"
            ),
            models.Index(fields=["endpoint", "status"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} ({self.status})"


class WebhookAttempt(models.Model):
    class Outcome(models.TextChoices):
        IN_FLIGHT = "in_flight", "In flight"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        LOST = "lost", "Lost (the worker stopped)"

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_rows")
    attempt_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.IN_FLIGHT)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        indexes = [models.Index(fields=["delivery", "number"], name="webhook_attempt_delivery")]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
