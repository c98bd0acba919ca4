"""Scheduled messages that run once per period, however many beats send them.

Two beat processes (a second one started by mistake, or two hosts during a deploy) each send a
job's message, marked ``scheduled``; only the first to claim the period runs it. A run by hand
or as of a given date is not marked and always runs.
"""

from __future__ import annotations

from celery import current_task
from django.core.cache import cache
from django.utils import timezone

DAILY = "%Y-%m-%d"
HOURLY = "%Y-%m-%dT%H"


def first_this_period(name: str, period: str) -> bool:
    """Whether this message is the one that runs scheduled job ``name`` in the current
    ``period`` (a ``strftime`` format: ``DAILY`` or ``HOURLY``): the first message to claim the
    period (an atomic add in the shared cache) is; another beat's message for the same period
    is not; the same message redelivered after its worker died still is."""
    message_id = current_task.request.id if current_task else None
    key = f"loyalty:job-period:{name}:{timezone.now().strftime(period)}"
    if cache.add(key, message_id, timeout=2 * 24 * 3600):
        return True
    return message_id is not None and cache.get(key) == message_id
