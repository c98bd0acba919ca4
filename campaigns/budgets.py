"""Spending a point budget: campaigns and offers both keep ``budget_points`` (None: no limit)
and ``spent_points``, and both spend them the same way."""

from __future__ import annotations

from django.db.models import F, Q

from .models import Campaign, Offer


def budget_take(rule: Campaign | Offer, points: int) -> int:
    """Take up to ``points`` from ``rule``'s budget; returns how many were taken. A conditional
    UPDATE, retried on what is left, so concurrent purchases never overspend. A budget staff
    removed in the meantime gives everything asked."""
    if points <= 0:
        return 0
    if rule.budget_points is None:
        return points
    rules = type(rule).objects.filter(pk=rule.pk)
    while points > 0:
        if rules.filter(spent_points__lte=F("budget_points") - points).update(
            spent_points=F("spent_points") + points
        ):
            return points
        row = rules.values("budget_points", "spent_points").first()
        if row is None:
            return 0
        if row["budget_points"] is None:
            return points
        points = min(points, row["budget_points"] - row["spent_points"])
    return 0


def budget_take_all(rule: Campaign | Offer, points: int) -> bool:
    """Take exactly ``points`` from ``rule``'s budget, or nothing when fewer are left."""
    if points <= 0 or rule.budget_points is None:
        return True
    left = Q(budget_points__isnull=True) | Q(spent_points__lte=F("budget_points") - points)
    return bool(type(rule).objects.filter(left, pk=rule.pk).update(spent_points=F("spent_points") + points))
