"""A paid plan's monthly voucher: issued once per member and month however often the job runs,
only to members whose membership runs, worth its cash value on the dashboard's plan card."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from members.jobs import job_run
from members.memberships import member_plan_summary, membership_start
from members.models import MembershipPlan
from rewards.models import PlanVoucher, Redemption, Reward
from tests import factories

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 10, 7, 0, tzinfo=UTC)


@pytest.fixture
def monthly_reward(program):
    return Reward.objects.create(
        code="plus-coffee",
        name="Plus: a coffee a month",
        kind=Reward.Kind.FREE_PRODUCT,
        points_cost=150,
        cash_value=Decimal("3.50"),
        monthly_for_plan=MembershipPlan.objects.get(code="plus"),
    )


def issue(as_of):
    return job_run(name="issue_plan_vouchers", as_of=as_of)[1]


def test_each_member_of_the_plan_gets_one_voucher_a_month(monthly_reward):
    a, b, outsider = factories.MemberFactory.create_batch(3)
    for member, key in ((a, "A"), (b, "B")):
        membership_start(store=None, member_number=member.member_number, plan_code="plus",
                         external_id=key, now=NOW - timedelta(days=20))  # fmt: skip

    first, again = issue(NOW), issue(NOW + timedelta(hours=5))
    next_month = issue(NOW + timedelta(days=31))

    assert (first.vouchers, again.vouchers, next_month.vouchers) == (2, 0, 2)
    assert PlanVoucher.objects.filter(member=outsider).count() == 0
    vouchers = Redemption.objects.filter(member=a).order_by("created_at")
    assert [(v.points_spent, v.cash_value, v.status) for v in vouchers] == [
        (0, Decimal("3.50"), "issued")
    ] * 2
    a.refresh_from_db()
    assert a.points_available == 0  # nothing spent
    with time_machine.travel(NOW + timedelta(days=32), tick=False):
        summary = member_plan_summary(a, point_value=Decimal("0.01"))
    assert summary.extra_value == Decimal("7.00")


def test_no_voucher_after_the_membership_ends(monthly_reward):
    member = factories.MemberFactory()
    membership_start(store=None, member_number=member.member_number, plan_code="plus", external_id="A",
                     now=NOW - timedelta(days=400))  # fmt: skip

    assert issue(NOW).vouchers == 0


def test_a_plan_voucher_can_be_cancelled_and_gives_back_no_points(monthly_reward):
    from rewards.services import redemption_cancel

    member = factories.MemberFactory()
    membership_start(store=None, member_number=member.member_number, plan_code="plus", external_id="A",
                     now=NOW - timedelta(days=1))  # fmt: skip
    issue(NOW)
    voucher = Redemption.objects.get(member=member)

    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        cancelled = redemption_cancel(redemption_id=voucher.pk)

    assert (cancelled.status, cancelled.points_returned) == ("cancelled", 0)
