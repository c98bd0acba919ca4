"""The opt-in leaderboard: points earned this month (earned and bonus credits), by nickname
only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import BigIntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy

from members.errors import InvalidRequest
from members.models import LedgerEntry, Member

from .models import EngagementProfile

SIZE = 10


@dataclass(frozen=True)
class Place:
    rank: int
    nickname: str
    points: int
    member_id: int


def leaderboard(*, now: datetime, size: int = SIZE) -> list[Place]:
    start = timezone.localtime(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    earned = (
        LedgerEntry.objects.filter(
            member_id=OuterRef("member_id"),
            kind__in=[LedgerEntry.Kind.EARN, LedgerEntry.Kind.BONUS],
            created_at__gte=start,
        )
        .values("member_id")
        .annotate(total=Sum("points"))
        .values("total")
    )
    rows = (
        EngagementProfile.objects.filter(leaderboard_opt_in=True, member__status=Member.Status.ACTIVE)
        .annotate(points=Coalesce(Subquery(earned, output_field=BigIntegerField()), Value(0)))
        .order_by("-points", "nickname")
        .values_list("nickname", "points", "member_id")[:size]
    )
    return [
        Place(rank, nickname, points, member_id) for rank, (nickname, points, member_id) in enumerate(rows, 1)
    ]


def leaderboard_join(*, member: Member, nickname: str) -> EngagementProfile:
    try:
        with transaction.atomic():
            profile, _ = EngagementProfile.objects.update_or_create(
                member=member,
                defaults={"nickname": nickname, "leaderboard_opt_in": True, "updated_at": timezone.now()},
            )
    except IntegrityError:
        taken = gettext_lazy("That nickname is taken.")
        raise InvalidRequest(taken, fields={"nickname": [taken]}) from None
    return profile


def leaderboard_leave(*, member: Member) -> None:
    EngagementProfile.objects.filter(member=member).update(
        leaderboard_opt_in=False, updated_at=timezone.now()
    )
