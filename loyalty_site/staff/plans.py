"""Figures of the paid plans for the staff portal: per plan, the members it has now, revenue,
and the points its earn multiplier gave; per month, sales, renewals, churn and revenue. A fixed
few aggregate queries, whatever the number of members.

- active: memberships running now (``starts_at <= now < ends_at``);
- revenue: the prices of memberships sold or renewed (a renewal is a new term at the plan's
  price);
- churn: memberships that ended without a renewal, or were cancelled, in the month;
- points given: the ``plan:<code>`` awards of purchases (the extra points of the multiplier).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import django_tables2 as tables
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy

from campaigns.models import Award
from members.models import Membership, MembershipPlan

from .tables import NUM, FigureTable

MONTHS = 12


@dataclass(frozen=True)
class PlanRow:
    plan: str
    active: int
    sold: int
    renewals: int
    revenue: Decimal
    points_given: int


@dataclass(frozen=True)
class PlanMonth:
    month: date
    sold: int
    renewals: int
    churned: int
    revenue: Decimal


def _month_key(value) -> date:
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def plan_figures(*, as_of: datetime) -> tuple[list[PlanRow], list[PlanMonth]]:
    plans = list(
        MembershipPlan.objects.annotate(
            active=Count(
                "memberships", filter=Q(memberships__starts_at__lte=as_of, memberships__ends_at__gt=as_of)
            ),
            sold=Count("memberships", filter=Q(memberships__renewed_from__isnull=True)),
            renewals=Count("memberships", filter=Q(memberships__renewed_from__isnull=False)),
            revenue=Sum("memberships__price"),
        ).order_by("price", "code")
    )
    given = dict(
        Award.objects.filter(source__in=[f"plan:{plan.code}" for plan in plans])
        .values_list("source")
        .annotate(total=Sum("points"))
        .values_list("source", "total")
    )
    rows = [
        PlanRow(
            plan=plan.name,
            active=plan.active,
            sold=plan.sold,
            renewals=plan.renewals,
            revenue=plan.revenue or Decimal("0.00"),
            points_given=given.get(f"plan:{plan.code}", 0),
        )
        for plan in plans
    ]
    local = timezone.localtime(as_of)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for _ in range(MONTHS - 1):
        first = (first.replace(day=1) - timedelta(days=1)).replace(day=1)
    sales = (
        Membership.objects.filter(created_at__gte=first, created_at__lte=as_of)
        .annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(
            sold=Count("id", filter=Q(renewed_from__isnull=True)),
            renewals=Count("id", filter=Q(renewed_from__isnull=False)),
            revenue=Sum("price"),
        )
    )
    churn = (
        Membership.objects.filter(
            Q(status=Membership.Status.ENDED, ended_at__gte=first, ended_at__lte=as_of)
            | Q(status=Membership.Status.CANCELLED, cancelled_at__gte=first, cancelled_at__lte=as_of)
        )
        .annotate(month=TruncMonth("ends_at"))
        .values("month")
        .annotate(churned=Count("id"))
    )
    by_month: dict[date, dict] = {}
    for row in sales:
        by_month.setdefault(_month_key(row["month"]), {}).update(row)
    for row in churn:
        by_month.setdefault(_month_key(row["month"]), {})["churned"] = row["churned"]
    months = []
    cursor = first.date()
    for _ in range(MONTHS):
        row = by_month.get(cursor, {})
        months.append(
            PlanMonth(
                month=cursor,
                sold=row.get("sold", 0),
                renewals=row.get("renewals", 0),
                churned=row.get("churned", 0),
                revenue=row.get("revenue") or Decimal("0.00"),
            )
        )
        cursor = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
    return rows, months


class PlanTable(FigureTable):
    plan = tables.Column(verbose_name=gettext_lazy("Plan"))
    active = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Active members"))
    sold = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Sold"))
    renewals = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Renewals"))
    revenue = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Revenue"))
    points_given = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Points given by the plan"))


class PlanMonthTable(FigureTable):
    month = tables.DateColumn(format="M Y", verbose_name=gettext_lazy("Month"))
    sold = tables.Column(attrs=NUM, verbose_name=gettext_lazy("New"))
    renewals = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Renewals"))
    churned = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Churned"))
    revenue = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Revenue"))


def plan_tables(*, as_of: datetime) -> dict[str, FigureTable]:
    rows, months = plan_figures(as_of=as_of)
    return {"plans": PlanTable(rows), "plan_months": PlanMonthTable(months)}
