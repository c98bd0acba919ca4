"""Two members earning, spending, sending each other points, refunds clawing back, staff
reversing transfers, points expiring, in any order: after every step the ledger's invariants
hold, neither available balance goes negative except through a recorded reversal, and the
points the two hold together are what came in less what went out."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from members.errors import InsufficientPoints, NothingToReverse
from members.jobs import expire_points
from members.ledger.invariants import ledger_violations
from members.ledger.services import points_credit, points_debit, points_reverse
from members.models import LedgerEntry, Member
from members.transfers import TransferLimitReached, transfer_reverse, transfer_send
from tests.factories import MemberFactory, UserFactory

Source = LedgerEntry.Source


class TransferMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.members = [MemberFactory(), MemberFactory()]
        self.staff = UserFactory(is_staff=True)
        self.now = timezone.now().replace(microsecond=0)
        self.step = 0
        self.purchases: list[tuple[int, str]] = []
        self.transfers: list[int] = []
        self.expected_total = 0

    def _key(self, prefix: str) -> str:
        self.step += 1
        return f"{prefix}:{self.members[0].pk}:{self.step}"

    def _total(self) -> int:
        return sum(m.points_total for m in Member.objects.filter(pk__in=[m.pk for m in self.members]))

    @rule(who=st.integers(0, 1), points=st.integers(1, 400), age_days=st.integers(0, 400))
    def earn(self, who: int, points: int, age_days: int) -> None:
        key = self._key("purchase")
        points_credit(
            member_id=self.members[who].pk,
            points=points,
            idempotency_key=key,
            source_type=Source.PURCHASE,
            source_id=key,
            earned_at=self.now - timedelta(days=age_days),
            now=self.now,
        )
        self.purchases.append((who, key))
        self.expected_total += points

    @rule(who=st.integers(0, 1), points=st.integers(1, 300))
    def redeem(self, who: int, points: int) -> None:
        try:
            points_debit(
                member_id=self.members[who].pk,
                points=points,
                idempotency_key=self._key("redeem"),
                source_type=Source.REDEMPTION,
                now=self.now,
            )
        except InsufficientPoints:
            return
        self.expected_total -= points

    @rule(who=st.integers(0, 1), points=st.integers(1, 300))
    def send(self, who: int, points: int) -> None:
        sender, recipient = self.members[who], self.members[1 - who]
        try:
            outcome = transfer_send(
                sender_id=sender.pk,
                recipient_id=recipient.pk,
                points=points,
                idempotency_key=self._key("send"),
                notify=False,
                now=self.now,
            )
        except (InsufficientPoints, TransferLimitReached):
            return
        self.transfers.append(outcome.transfer.pk)

    @precondition(lambda self: self.transfers)
    @rule(data=st.data())
    def staff_reverse(self, data) -> None:
        transfer_reverse(
            transfer_id=data.draw(st.sampled_from(self.transfers)),
            staff_user=self.staff,
            reason="test",
            now=self.now,
        )

    @precondition(lambda self: self.purchases)
    @rule(data=st.data())
    def refund(self, data) -> None:
        who, source = data.draw(st.sampled_from(self.purchases))
        try:
            posting = points_reverse(
                member_id=self.members[who].pk,
                source_type=Source.PURCHASE,
                source_id=source,
                idempotency_key=self._key("refund"),
                now=self.now,
            )
        except NothingToReverse:
            return
        self.expected_total += posting.entry.points

    @rule(days=st.integers(1, 200))
    def time_passes_and_points_expire(self, days: int) -> None:
        self.now += timedelta(days=days)
        before = self._total()
        expire_points(as_of=self.now)
        self.expected_total -= before - self._total()

    @invariant()
    def ledger_is_whole(self) -> None:
        assert ledger_violations() == []
        assert self._total() == self.expected_total


@pytest.mark.django_db
def test_transfer_state_machine(program) -> None:
    TransferMachine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=20,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    TransferMachine.TestCase("runTest").runTest()
