"""Every entry of the admin history (``LogEntry``) is also an audit event, so the audit trail
holds each change staff make in any admin, with who made it."""

from __future__ import annotations

from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.db.models.signals import post_save
from django.dispatch import receiver

from members.audit import audit_record

_ACTIONS = {ADDITION: "admin_added", CHANGE: "admin_changed", DELETION: "admin_deleted"}


@receiver(post_save, sender=LogEntry, dispatch_uid="staff_logentry_audit")
def mirror_admin_history(sender, instance: LogEntry, created: bool, **kwargs) -> None:
    if not created:
        return
    member_id = None
    content_type = instance.content_type
    if content_type is not None and (content_type.app_label, content_type.model) == ("members", "member"):
        member_id = int(instance.object_id) if instance.action_flag != DELETION else None
    audit_record(
        actor=instance.user,
        action=_ACTIONS.get(instance.action_flag, "admin_logged"),
        member_id=member_id,
        details={
            "log_entry": instance.pk,
            "model": f"{content_type.app_label}.{content_type.model}" if content_type else "",
            "object_id": instance.object_id or "",
            "object": instance.object_repr,
            "message": instance.get_change_message(),
        },
    )
