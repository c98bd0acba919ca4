"""Earn, redeem, cancel, use, refund, let time pass, expire points and vouchers, in any order:
after every step the ledger's invariants hold, stock matches what members hold, and every
redemption's net ledger effect is what it spent less what it gave back."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from itertools import count

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from members.errors import InsufficientPoints, NothingToReverse
from members.jobs import expire_points
from members.ledger.invariants import ledger_violations
from members.ledger.services import points_credit, points_reverse
from members.models import LedgerEntry, Program
from rewards.errors import (
    LimitReached,
    NotCancellable,
    RewardOutOfStock,
    VoucherCancelled,
    VoucherExpired,
    VoucherUsed,
)
from rewards.models import Redemption, Reward
from rewards.services import redemption_cancel, reward_redeem, voucher_use, vouchers_expire
from tests.factories import MemberFactory
from tests.rewards.support import make_reward

machines = count()
STOCK = 4
LIMIT = 2


class RewardsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        n = next(machines)
        self.member = MemberFactory()
        self.stocked = make_reward(f"stocked-{n}", points_cost=100, stock=STOCK)
        self.limited = make_reward(f"limited-{n}", points_cost=250, per_member_limit=LIMIT)
        self.now = timezone.now().replace(microsecond=0)
        self.steps = count()
        self.purchases: list[str] = []
        self.redemptions: list[int] = []

    @rule(points=st.integers(1, 600), age_days=st.integers(0, 400))
    def earn(self, points: int, age_days: int) -> None:
        key = f"purchase:{self.member.pk}:{next(self.steps)}"
        points_credit(
            member_id=self.member.pk,
            points=points,
            idempotency_key=key,
            source_type=LedgerEntry.Source.PURCHASE,
            source_id=key,
            earned_at=self.now - timedelta(days=age_days),
            now=self.now,
        )
        self.purchases.append(key)

    @rule(stocked=st.booleans())
    def redeem(self, stocked: bool) -> None:
        reward = self.stocked if stocked else self.limited
        try:
            redeemed = reward_redeem(
                member_id=self.member.pk, reward_code=reward.code, notify=False, now=self.now
            )
        except (InsufficientPoints, RewardOutOfStock, LimitReached):
            return
        self.redemptions.append(redeemed.redemption.pk)

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data())
    def cancel(self, data) -> None:
        redemption_id = data.draw(st.sampled_from(self.redemptions))
        with contextlib.suppress(NotCancellable):
            redemption_cancel(redemption_id=redemption_id, now=self.now)

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data())
    def use(self, data) -> None:
        code = Redemption.objects.get(pk=data.draw(st.sampled_from(self.redemptions))).voucher_code
        with contextlib.suppress(VoucherUsed, VoucherExpired, VoucherCancelled):
            voucher_use(code=code, now=self.now)

    @precondition(lambda self: self.purchases)
    @rule(data=st.data())
    def refund(self, data) -> None:
        key = data.draw(st.sampled_from(self.purchases))
        with contextlib.suppress(NothingToReverse):
            points_reverse(
                member_id=self.member.pk,
                source_type=LedgerEntry.Source.PURCHASE,
                source_id=key,
                idempotency_key=f"refund:{key}:{next(self.steps)}",
                now=self.now,
            )

    @rule(days=st.integers(1, 120))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule(refund=st.booleans())
    def nightly_jobs(self, refund: bool) -> None:
        policy = Program.ExpiredVoucherPolicy.REFUND if refund else Program.ExpiredVoucherPolicy.FORFEIT
        Program.objects.update(expired_voucher_policy=policy)
        vouchers_expire(as_of=self.now)
        expire_points(as_of=self.now)

    @invariant()
    def ledger_holds(self) -> None:
        assert ledger_violations() == []

    @invariant()
    def stock_is_what_members_do_not_hold(self) -> None:
        held = Redemption.objects.filter(reward=self.stocked, status__in=Redemption.HELD).count()
        assert Reward.objects.get(pk=self.stocked.pk).stock == STOCK - held
        assert Redemption.objects.filter(reward=self.limited, status__in=Redemption.HELD).count() <= LIMIT

    @invariant()
    def each_redemption_nets_what_it_kept(self) -> None:
        net = dict(
            LedgerEntry.objects.filter(member=self.member, source_type=LedgerEntry.Source.REDEMPTION)
            .values_list("source_id")
            .annotate(total=Sum("points"))
        )
        for redemption in Redemption.objects.filter(member=self.member):
            assert net[str(redemption.pk)] == -(redemption.points_spent - redemption.points_returned)
            returned = redemption.status == "cancelled" or (
                redemption.status == "expired" and redemption.points_returned > 0
            )
            assert redemption.points_returned == (redemption.points_spent if returned else 0)


@pytest.mark.django_db
def test_rewards_state_machine(program) -> None:
    RewardsMachine.TestCase.settings = settings(
        max_examples=15,
        stateful_step_count=20,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    RewardsMachine.TestCase("runTest").runTest()
