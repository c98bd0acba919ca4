"""Webhooks out: an outbox of events written in the transaction of each change, delivered by
Celery to the endpoints stores register, signed like Stripe's.

- ``events``: ``event_record`` (services) and ``events_record_sql`` (set-based jobs, with the
  helpers of ``bulk``) write the outbox.
- ``services``: endpoints, matching events to endpoints (dispatch), staff's resends.
- ``delivery``: one attempt of one delivery; ``signing``: the signature; ``addresses``: where
  a webhook may point; ``tasks``: the Celery side, with the sweeper on the beat.
"""

from .events import EVENT_TYPES, event_record, event_values, event_written, events_record_sql

__all__ = ["EVENT_TYPES", "event_record", "event_values", "event_written", "events_record_sql"]
