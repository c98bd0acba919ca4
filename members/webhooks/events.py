"""Writing events into the outbox, inside the caller's transaction.

``event_record`` is the one call a service makes (one INSERT); ``events_record_sql`` is how a
set-based job writes one event per member of its chunk in one ``INSERT ... SELECT``. Either
way, after the transaction commits, one dispatch task is queued (``transaction.on_commit``);
an event whose task never reached the broker is picked up by the sweeper on the beat.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from .models import WebhookEvent

EVENT_TYPES = (
    "member.enrolled",
    "purchase.recorded",
    "purchase.refunded",
    "points.expired",
    "tier.changed",
    "redemption.created",
    "redemption.cancelled",
    "voucher.used",
    "membership.started",
    "membership.ended",
    "challenge.completed",
)


def events_enabled() -> bool:
    """``LOYALTY_WEBHOOKS_EVENTS`` (default on); the bench turns it off to time a job without."""
    return getattr(settings, "LOYALTY_WEBHOOKS_EVENTS", True)


def _dispatch_after_commit() -> None:
    from .tasks import webhook_events_dispatch_task

    webhook_events_dispatch_task.delay()


def _dispatch_once_after_commit() -> None:
    """Queue one dispatch when the outermost transaction commits, however many events it wrote."""
    if connection.in_atomic_block and any(
        callback is _dispatch_after_commit for _, callback, *_ in connection.run_on_commit
    ):
        return
    # robust: the change has committed whatever the broker does; the sweeper sends it then.
    transaction.on_commit(_dispatch_after_commit, robust=True)


def event_record(
    *,
    type: str,  # noqa: A002  (the contract's name for it)
    member_id: int | None,
    data: dict[str, Any],
    store_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Write one event of ``type`` about ``member_id`` (made for ``store_id``, if a store made
    the change) in the current transaction."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}.")
    if not events_enabled():
        return
    WebhookEvent.objects.create(
        type=type, member_id=member_id, store_id=store_id, data=data, created_at=now or timezone.now()
    )
    _dispatch_once_after_commit()


# The outbox row of ``event_values``, as a common table expression of the caller's statement:
# written once for every row of the CTE named ``{source}`` (none when that CTE returns none).
EVENT_CTE = """
{name} AS (
    INSERT INTO members_webhookevent (type, member_id, store_id, data, created_at)
    SELECT %({name}_type)s, %({name}_member)s::bigint, %({name}_store)s::bigint, %({name}_data)s::jsonb,
           %({name}_now)s
    FROM {source}
)
"""


def event_values(
    *,
    type: str,  # noqa: A002
    member_id: int | None,
    data: dict[str, Any],
    store_id: int | None = None,
    now: datetime | None = None,
    name: str = "event",
) -> tuple[str, dict[str, Any]] | None:
    """``event_record`` for a caller that writes the outbox row inside one of its own statements
    (PostgreSQL): the CTE (``EVENT_CTE`` with ``{source}`` still to fill) and its named
    parameters, or None when events are off. Once the statement wrote the row, call
    ``event_written``."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}.")
    if not events_enabled():
        return None
    params = {
        f"{name}_type": type,
        f"{name}_member": member_id,
        f"{name}_store": store_id,
        f"{name}_data": json.dumps(data, cls=DjangoJSONEncoder),
        f"{name}_now": now or timezone.now(),
    }
    return EVENT_CTE.replace("{name}", name), params


def event_written() -> None:
    """After a caller's own statement wrote an outbox row (``event_values``): queue the dispatch
    once the transaction commits, as ``event_record`` does."""
    _dispatch_once_after_commit()


def json_object_sql(fields: dict[str, str]) -> str:
    """SQL building a JSON object from ``{"key": "sql expression"}`` on either database."""
    pairs = ", ".join(f"'{key}', {expression}" for key, expression in fields.items())
    if connection.vendor == "postgresql":
        return f"jsonb_build_object({pairs})"
    return f"json_object({pairs})"


def events_record_sql(
    cursor,
    *,
    type: str,
    rows_sql: str,
    params: list[Any],
    created_at: Any,  # noqa: A002
) -> int:
    """Write an event of ``type`` for every row of ``rows_sql``, a SELECT of ``member_id``,
    ``store_id`` and ``data`` (a JSON object, see ``json_object_sql``), in one statement.
    ``created_at`` is a database value (``members.jobs.base.db_datetime``). Returns the count."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}.")
    if not events_enabled():
        return 0
    cursor.execute(
        "INSERT INTO members_webhookevent (type, member_id, store_id, data, created_at) "
        f"SELECT %s, r.member_id, r.store_id, r.data, %s FROM ({rows_sql}) r",
        [type, created_at, *params],
    )
    count = cursor.rowcount
    if count:
        _dispatch_once_after_commit()
    return count
