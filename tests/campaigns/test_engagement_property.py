"""Progress computed live, purchase after purchase and refund after refund, equals progress
recomputed from history by the job's code."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.engagement.config import engagement_config
from campaigns.engagement.demo import seed_program as seed_rules
from campaigns.engagement.models import Challenge, ChallengeCompletion, ChallengeProgress
from campaigns.engagement.progress import challenge_scan
from campaigns.engagement.services import _facts
from campaigns.services import purchase_record, refund_record
from members.ledger.invariants import ledger_violations
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)

steps = st.lists(
    st.one_of(
        st.tuples(st.just("buy"), st.integers(0, 12), st.sampled_from(["5.00", "40.00", "120.00"])),
        st.tuples(st.just("refund"), st.integers(0, 20), st.sampled_from(["5.00", "all"])),
    ),
    min_size=1,
    max_size=10,
)


@pytest.fixture
def setup(program):
    seed_rules()
    start = NOW - timedelta(days=60)
    Challenge.objects.create(
        code="spend",
        name="Spend",
        goal="spend",
        target=150,
        window_days=7,
        reward_points=30,
        repeatable=True,
        starts_at=start,
    )
    Challenge.objects.create(
        code="stores", name="Stores", goal="stores", target=2, reward_points=10, starts_at=start
    )
    return [factories.StoreFactory(), factories.StoreFactory()]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps)
def test_incremental_progress_equals_progress_from_history(setup, steps):
    stores = setup
    member = factories.MemberFactory()
    purchases = []
    clock = NOW - timedelta(days=13)
    for n, step in enumerate(steps):
        clock += timedelta(hours=6)
        if step[0] == "buy":
            _, days_before, amount = step
            outcome = purchase_record(
                store=stores[n % 2],
                member_number=member.member_number,
                external_id=f"{member.pk}-{n}",
                amount=amount,
                currency="USD",
                purchased_at=clock - timedelta(days=days_before),
                now=clock,
            )
            purchases.append(outcome.purchase)
        elif purchases:
            _, index, how = step
            purchase = purchases[index % len(purchases)]
            purchase.refresh_from_db()
            left = purchase.amount - purchase.refunded_amount
            amount = left if how == "all" else min(left, purchase.amount / 8)
            if amount > 0:
                refund_record(
                    store=purchase.store,
                    purchase_external_id=purchase.external_id,
                    external_id=f"r-{member.pk}-{n}",
                    amount=f"{amount:.2f}",
                    now=clock,
                )

    config = engagement_config()
    facts = _facts([member.pk], since=NOW - timedelta(days=400), goals={"purchases", "spend", "stores"})
    for challenge in config.challenges:
        expected = challenge_scan(challenge.rule, facts.get(member.pk, []))
        row = ChallengeProgress.objects.filter(member=member, challenge_id=challenge.rule.id).first()
        live = ChallengeCompletion.objects.filter(
            member=member, challenge_id=challenge.rule.id, reversed_at__isnull=True
        ).count()
        # every completion is still in its return window here, so a refund can always undo it
        assert live == len(expected.completions), challenge.code
        assert (row.progress if row else 0) == expected.progress, challenge.code
    assert ledger_violations() == []
