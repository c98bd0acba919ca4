"""What campaigns keeps about a member that their export shows and their erasure blanks: the
actions they reported (a social share's link names the member's own post)."""

from __future__ import annotations

from django.dispatch import receiver

from members.models import Member
from members.privacy import ExportTable
from members.signals import member_erasing

from .models import Activity

FIELDS = ["created_at", "rule__name", "url", "status", "points_awarded"]


def activities_export(member: Member) -> ExportTable:
    rows = Activity.objects.filter(member=member).order_by("created_at", "id").values_list(*FIELDS)
    header = [field.replace("rule__name", "activity") for field in FIELDS]
    return ExportTable("activities", header, [list(row) for row in rows])


@receiver(member_erasing, dispatch_uid="campaigns.erase_activity_links")
def erase_activity_links(sender, member_id: int, **kwargs) -> None:
    Activity.objects.filter(member_id=member_id).exclude(url="").update(url="")
