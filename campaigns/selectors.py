"""Reads of earning used by more than one caller (the portal, the staff pages, the API)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from .models import ActionRule, Award


def ways_to_earn() -> list[ActionRule]:
    """The active action rules, for the portal's "ways to earn" page."""
    return list(ActionRule.objects.filter(is_active=True).order_by("kind"))


def plan_points_given(member_id: int, plan_code: str, since: datetime) -> tuple[int, Decimal]:
    """The extra points a paid plan's multiplier gave the member since ``since`` (the
    ``plan:<code>`` awards of their purchases): a plan benefit source for the dashboard."""
    total = Award.objects.filter(
        member_id=member_id, source=f"plan:{plan_code}", created_at__gte=since
    ).aggregate(total=Sum("points"))["total"]
    return total or 0, Decimal("0")
