"""Reads of earning used by more than one caller (the portal, the staff pages, the API)."""

from __future__ import annotations

from .models import ActionRule


def ways_to_earn() -> list[ActionRule]:
    """The active action rules, for the portal's "ways to earn" page."""
    return list(ActionRule.objects.filter(is_active=True).order_by("kind"))
