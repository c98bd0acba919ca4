"""Signatures of webhook posts, the way Stripe signs its own: the header
``Loyalty-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + raw body>`` keyed by the
endpoint's secret. The receiver recomputes it over the raw body and refuses an old ``t``."""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Loyalty-Signature"
EVENT_ID_HEADER = "Loyalty-Event-Id"
ATTEMPT_ID_HEADER = "Loyalty-Attempt-Id"
TOLERANCE_SECONDS = 300


def signature(secret: str, body: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, body, timestamp)}"


def signature_verify(
    secret: str, body: bytes, header: str, *, tolerance: int = TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of now."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, body, timestamp)
    return any(hmac.compare_digest(expected, candidate) for candidate in parts.get("v1", []))
