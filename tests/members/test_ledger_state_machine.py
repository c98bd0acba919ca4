"""Earn, redeem, reverse, restore, adjust, release and expire in any order: after every step
the ledger's invariants hold and the balances match a simple model."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from members.errors import InsufficientPoints, NothingToReverse
from members.jobs import expire_points, release_pending_points
from members.ledger.invariants import ledger_violations
from members.ledger.services import (
    points_adjust,
    points_credit,
    points_debit,
    points_restore,
    points_reverse,
)
from members.models import LedgerEntry, Member
from tests.factories import MemberFactory, UserFactory

Source = LedgerEntry.Source


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.member = MemberFactory()
        self.staff = UserFactory(is_staff=True)
        self.now = timezone.now().replace(microsecond=0)
        self.step = 0
        self.purchases: list[str] = []
        self.redemptions: list[str] = []
        self.keys: list[tuple[str, int]] = []
        self.expected_total = 0

    def _key(self, prefix: str) -> str:
        self.step += 1
        return f"{prefix}:{self.member.pk}:{self.step}"

    def _fresh(self) -> Member:
        return Member.objects.get(pk=self.member.pk)

    @rule(points=st.integers(1, 400), pending=st.booleans(), age_days=st.integers(0, 420))
    def credit(self, points: int, pending: bool, age_days: int) -> None:
        key = self._key("purchase")
        posting = points_credit(
            member_id=self.member.pk,
            points=points,
            idempotency_key=key,
            source_type=Source.PURCHASE,
            source_id=key,
            earned_at=self.now - timedelta(days=age_days),
            available_at=self.now + timedelta(days=14 if pending else 0),
            now=self.now,
        )
        assert posting.created
        self.purchases.append(key)
        self.keys.append((key, points))
        self.expected_total += points

    @rule(points=st.integers(1, 500))
    def debit(self, points: int) -> None:
        available = self._fresh().points_available
        key = self._key("redemption")
        try:
            points_debit(
                member_id=self.member.pk,
                points=points,
                idempotency_key=key,
                source_type=Source.REDEMPTION,
                source_id=key,
                now=self.now,
            )
        except InsufficientPoints:
            assert available < points
            return
        assert available >= points
        self.redemptions.append(key)
        self.expected_total -= points

    @precondition(lambda self: self.purchases)
    @rule(data=st.data(), whole=st.booleans())
    def reverse(self, data, whole: bool) -> None:
        source = data.draw(st.sampled_from(self.purchases))
        points = None if whole else data.draw(st.integers(1, 200))
        try:
            posting = points_reverse(
                member_id=self.member.pk,
                source_type=Source.PURCHASE,
                source_id=source,
                points=points,
                idempotency_key=self._key("refund"),
                now=self.now,
            )
        except NothingToReverse:
            return
        self.expected_total += posting.entry.points

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data())
    def restore(self, data) -> None:
        source = data.draw(st.sampled_from(self.redemptions))
        try:
            posting = points_restore(
                member_id=self.member.pk,
                source_type=Source.REDEMPTION,
                source_id=source,
                idempotency_key=self._key("cancel"),
                now=self.now,
            )
        except NothingToReverse:
            return
        self.expected_total += posting.entry.points

    @rule(points=st.integers(-300, 300).filter(bool))
    def adjust(self, points: int) -> None:
        try:
            points_adjust(
                member_id=self.member.pk,
                points=points,
                reason="correction",
                staff_user=self.staff,
                idempotency_key=self._key("adjust"),
                now=self.now,
            )
        except InsufficientPoints:
            assert points < 0
            return
        self.expected_total += points

    @precondition(lambda self: self.keys)
    @rule(data=st.data())
    def replay(self, data) -> None:
        key, points = data.draw(st.sampled_from(self.keys))
        posting = points_credit(
            member_id=self.member.pk,
            points=points,
            idempotency_key=key,
            source_type=Source.PURCHASE,
            source_id=key,
            now=self.now,
        )
        assert not posting.created

    @rule(days=st.integers(1, 200))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)

    @rule()
    def release(self) -> None:
        release_pending_points(as_of=self.now)

    @rule()
    def expire(self) -> None:
        before = self._fresh().points_total
        expire_points(as_of=self.now)
        self.expected_total -= before - self._fresh().points_total

    @invariant()
    def ledger_is_whole(self) -> None:
        assert ledger_violations() == []
        member = self._fresh()
        assert member.points_total == self.expected_total
        assert member.points_pending >= 0


@pytest.mark.django_db
def test_ledger_state_machine(program) -> None:
    LedgerMachine.TestCase.settings = settings(
        max_examples=40,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    LedgerMachine.TestCase("runTest").runTest()
