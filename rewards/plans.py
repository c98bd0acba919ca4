"""A paid plan's monthly voucher: every member with a running membership of a plan gets each
active reward marked ``monthly_for_plan`` once per calendar month, free (a redemption that spent
no points). The ``issue_plan_vouchers`` job, daily, chunked by member id and idempotent: a
``PlanVoucher`` row per member, plan and month, unique, decided again under the members'
locks; a second run that day (or any day that month) issues nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from members.jobs.base import Counts, ScratchTable, db_datetime
from members.locks import lock_members_in
from members.models import Program
from members.models_plans import membership_running_sql

from .models import PlanVoucher, Redemption, Reward


@dataclass(frozen=True)
class PlanVoucherResult(Counts):
    vouchers: int = 0


def _month(as_of: datetime) -> date:
    return timezone.localtime(as_of).date().replace(day=1)


def plan_vouchers_issue_chunk(*, as_of: datetime, first_id: int, last_id: int, **_) -> PlanVoucherResult:
    month = _month(as_of)
    as_of_db = db_datetime(as_of)
    select = (
        "SELECT DISTINCT ms.member_id, ms.plan_id, r.id AS reward_id "
        "FROM members_membership ms "
        "JOIN rewards_reward r ON r.monthly_for_plan_id = ms.plan_id AND r.is_active "
        "JOIN members_member m ON m.id = ms.member_id AND m.status = 'active' "
        f"WHERE ms.member_id BETWEEN %s AND %s AND {membership_running_sql('ms', '%s')} "
        "AND NOT EXISTS (SELECT 1 FROM rewards_planvoucher v WHERE v.member_id = ms.member_id "
        "                AND v.plan_id = ms.plan_id AND v.month = %s)"
    )
    params = [first_id, last_id, as_of_db, as_of_db, month]
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        ScratchTable(cursor, "job_plan_vouchers") as due,
    ):
        if not due.fill(select, params):
            return PlanVoucherResult()
        lock_members_in(f"SELECT member_id FROM {due.name}")
        if not due.fill(select, params):  # again under the locks: another run may have issued
            return PlanVoucherResult()
        cursor.execute(f"SELECT member_id, plan_id, reward_id FROM {due.name} ORDER BY member_id")
        rows = cursor.fetchall()
        rewards = {reward.pk: reward for reward in Reward.objects.filter(pk__in={row[2] for row in rows})}
        expires_at = as_of + timedelta(days=Program.load().voucher_validity_days)
        # One reward per plan and month: a plan with several monthly rewards gives the first.
        chosen: dict[tuple[int, int], int] = {}
        for member_id, plan_id, reward_id in rows:
            chosen.setdefault(
                (member_id, plan_id), min(reward_id, chosen.get((member_id, plan_id), reward_id))
            )
        redemptions = Redemption.objects.bulk_create(
            Redemption(
                member_id=member_id,
                reward=rewards[reward_id],
                points_spent=0,
                cash_value=rewards[reward_id].cash_value,
                expires_at=expires_at,
                idempotency_key=f"plan:{plan_id}:{month:%Y-%m}:{member_id}",
                created_at=as_of,
            )
            for (member_id, plan_id), reward_id in chosen.items()
        )
        PlanVoucher.objects.bulk_create(
            PlanVoucher(
                member_id=member_id, plan_id=plan_id, month=month, redemption=redemption, created_at=as_of
            )
            for ((member_id, plan_id), _), redemption in zip(chosen.items(), redemptions, strict=True)
        )
    return PlanVoucherResult(vouchers=len(redemptions))


def plan_vouchers_given(member_id: int, plan_code: str, since: datetime) -> tuple[int, Decimal]:
    """The cash value of the plan's monthly vouchers the member got since ``since``: a plan
    benefit source for the dashboard."""
    total = Redemption.objects.filter(
        plan_voucher__member_id=member_id, plan_voucher__plan__code=plan_code, created_at__gte=since
    ).aggregate(total=Sum("cash_value"))["total"]
    return 0, total or Decimal("0")
