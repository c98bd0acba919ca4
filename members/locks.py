"""The one locking helper: rows are locked in primary-key order so two transactions that lock
several of the same rows never deadlock."""

from collections.abc import Iterable
from typing import TypeVar

from django.db import models

from .errors import MemberNotFound
from .models import Member

M = TypeVar("M", bound=models.Model)


def lock_rows(queryset: models.QuerySet[M]) -> list[M]:
    return list(queryset.select_for_update().order_by("pk"))


def lock_member(member_id: int) -> Member:
    try:
        return Member.objects.select_for_update().get(pk=member_id)
    except (Member.DoesNotExist, ValueError, TypeError):
        raise MemberNotFound() from None


def lock_members(member_ids: Iterable[int]) -> list[Member]:
    return lock_rows(Member.objects.filter(pk__in=set(member_ids)))
