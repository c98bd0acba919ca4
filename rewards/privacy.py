"""What rewards adds to a member's data export: their redemptions and vouchers."""

from __future__ import annotations

from members.models import Member
from members.privacy import ExportTable

from .models import Redemption

FIELDS = ["created_at", "reward__name", "points_spent", "voucher_code", "status", "expires_at", "used_at"]


def vouchers_export(member: Member) -> ExportTable:
    rows = Redemption.objects.filter(member=member).order_by("created_at", "id").values_list(*FIELDS)
    header = [field.replace("reward__name", "reward") for field in FIELDS]
    return ExportTable("vouchers", header, [list(row) for row in rows])
