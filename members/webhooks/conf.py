"""The webhooks' tunables, with their defaults (``LOYALTY_WEBHOOKS_*`` in settings)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings


def timeout_seconds() -> float:
    """How long one POST may take to connect, and then to answer (default 10 s)."""
    return float(getattr(settings, "LOYALTY_WEBHOOKS_TIMEOUT", 10))


def lease() -> timedelta:
    """How long a worker holds a delivery it is sending; after that, another may take it and
    counts the first attempt as lost."""
    return timedelta(seconds=2 * timeout_seconds() + 5)


def retry_window() -> timedelta:
    """How long a delivery is retried (default 48 hours; the contract asks at least 24)."""
    return timedelta(hours=float(getattr(settings, "LOYALTY_WEBHOOKS_RETRY_HOURS", 48)))


def disable_after() -> timedelta:
    """An endpoint failing this long with no success is disabled (default 24 hours)."""
    return timedelta(hours=float(getattr(settings, "LOYALTY_WEBHOOKS_DISABLE_AFTER_HOURS", 24)))


def keep_days() -> int:
    """Events, their deliveries and attempts are kept this long once finished (default 30
    days), then the nightly purge deletes them."""
    return int(getattr(settings, "LOYALTY_WEBHOOKS_KEEP_DAYS", 30))


FIRST_RETRY_SECONDS = 30  # jittered to 15-45 s: the first retry comes within a minute
MAX_RETRY_SECONDS = 6 * 3600
