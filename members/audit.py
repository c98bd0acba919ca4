"""The one place that writes ``AuditEvent`` rows: who changed what, with the details."""

from __future__ import annotations

from typing import Any

from .models import AuditEvent, User


def audit_record(
    *, actor: User | None, action: str, member_id: int | None = None, details: dict[str, Any] | None = None
) -> AuditEvent:
    return AuditEvent.objects.create(actor=actor, action=action, member_id=member_id, details=details or {})
