"""Which stores a staff user may see in admin."""

from __future__ import annotations

from django.db.models import QuerySet


def staff_store_ids(user) -> set[int] | None:
    """None when the user sees every store; otherwise the ids of the stores they manage."""
    if user.is_superuser or user.has_perm("staff.access_all_stores"):
        return None
    from loyalty_site.staff.models import StoreManager

    return set(StoreManager.objects.filter(user=user).values_list("store_id", flat=True))


def scope_to_stores(queryset: QuerySet, user, *, lookup: str = "store") -> QuerySet:
    store_ids = staff_store_ids(user)
    if store_ids is None:
        return queryset
    return queryset.filter(**{f"{lookup}__in": store_ids})
