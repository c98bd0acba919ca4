"""Paid plans on /staff/: active members per plan, revenue, renewals and churn by month, points
given by the plan's multiplier; the CSV; a fixed number of queries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.services.purchases import purchase_record
from loyalty_site.staff.plans import plan_figures
from members.jobs import job_run
from members.memberships import membership_cancel, membership_start
from members.models import Membership, MembershipPlan
from tests import factories

pytestmark = pytest.mark.django_db


def sell(member, external_id, store, now=None):
    return membership_start(
        store=store, member_number=member.member_number, plan_code="plus", external_id=external_id, now=now
    ).membership


def test_figures_per_plan_and_per_month(program):
    store = factories.StoreFactory()
    now = timezone.now()
    a, b, c = factories.MemberFactory.create_batch(3)
    sell(a, "A", store)
    purchase_record(store=store, member_number=a.member_number, external_id="T-1", amount=Decimal("100.00"),
                    currency="USD", purchased_at=timezone.now())  # fmt: skip
    cancelled = sell(b, "B", store)
    membership_cancel(membership_id=cancelled.pk, store=store)
    MembershipPlan.objects.filter(code="plus").update(auto_renew=True)
    sell(c, "C", store, now=now - timedelta(days=366))
    Membership.objects.filter(external_id="C").update(auto_renew=True)
    job_run(name="end_memberships", as_of=now)

    rows, months = plan_figures(as_of=timezone.now())

    plus = rows[0]
    assert (plus.plan, plus.active, plus.sold, plus.renewals) == ("Plus", 2, 3, 1)
    assert plus.revenue == Decimal("196.00")  # 3 sales and a renewal at 49.00
    assert plus.points_given == 75  # 100 x gold 1.5 x plus 1.5 - 150
    this_month = months[-1]
    assert (this_month.sold, this_month.renewals, this_month.churned) == (2, 1, 1)
    assert this_month.revenue == Decimal("147.00")


def test_the_dashboard_shows_the_plans_and_downloads_them(client, manager, program):
    sell(factories.MemberFactory(), "A", factories.StoreFactory())
    client.force_login(manager)

    response = client.get(reverse("staff:dashboard"))
    assert "Paid plans" in response.content.decode()
    assert "Plus" in client.get(reverse("staff:dashboard") + "?export=plans").content.decode()
