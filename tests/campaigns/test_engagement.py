"""Challenges, badges and streaks moved by the purchase path: the contract's defaults
(`first-purchase`, `three-visits` paying 150 pending points and `regular`), refunds that undo a
completion, the fixed query cost, and the job that recomputes progress from history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.engagement.demo import seed_program as seed_rules
from campaigns.engagement.jobs import challenges_recompute_chunk
from campaigns.engagement.models import (
    Badge,
    Challenge,
    ChallengeCompletion,
    ChallengeProgress,
    MemberBadge,
    StreakMilestone,
)
from campaigns.engagement.selectors import member_engagement
from campaigns.services import purchase_record, refund_record
from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member, PointLot
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def store(db):
    return factories.StoreFactory()


@pytest.fixture
def defaults(program):
    seed_rules()


def buy(store, member: Member, external_id: str, *, days_ago: float = 0, amount: str = "20.00", now=None):
    return purchase_record(
        store=store,
        member_number=member.member_number,
        external_id=external_id,
        amount=amount,
        currency="USD",
        purchased_at=NOW - timedelta(days=days_ago, minutes=5),
        now=now or NOW,
    )


def badges(member: Member) -> set[str]:
    return set(MemberBadge.objects.filter(member=member).values_list("badge__code", flat=True))


def challenge_entries(member: Member):
    return LedgerEntry.objects.filter(
        member=member, source_type="campaign", source_id__startswith="engagement:"
    )


def test_a_first_purchase_earns_the_first_purchase_badge(defaults, store, member):
    buy(store, member, "P-1")
    assert badges(member) == {"first-purchase"}
    row = ChallengeProgress.objects.get(member=member, challenge__code="three-visits")
    assert (row.progress, row.completions) == (1, 0)


def test_three_visits_in_30_days_pay_150_pending_points_and_the_regular_badge_once(defaults, store, member):
    buy(store, member, "P-1", days_ago=20)
    buy(store, member, "P-2", days_ago=10)
    third = buy(store, member, "P-3", days_ago=1)

    completion = ChallengeCompletion.objects.get(member=member, challenge__code="three-visits")
    assert completion.points == 150 and completion.purchase_id == third.purchase.pk
    assert completion.available_at == third.purchase.available_at
    (entry,) = challenge_entries(member)
    assert entry.points == 150
    lot = PointLot.objects.get(entry=entry)
    assert lot.is_pending and lot.available_at == third.purchase.available_at
    assert badges(member) == {"first-purchase", "regular"}

    buy(store, member, "P-4")
    buy(store, member, "P-5")
    assert ChallengeCompletion.objects.filter(member=member).count() == 1  # once per member
    assert challenge_entries(member).count() == 1
    assert ledger_violations() == []


def test_three_visits_spread_over_more_than_30_days_do_not_complete(defaults, store, member):
    buy(store, member, "P-1", days_ago=70)
    buy(store, member, "P-2", days_ago=25)
    buy(store, member, "P-3", days_ago=1)
    row = ChallengeProgress.objects.get(member=member, challenge__code="three-visits")
    assert (row.progress, row.completions) == (2, 0)  # P-2 and P-3 are within 30 days of each other
    assert not challenge_entries(member).exists()


def test_a_refund_that_undoes_completion_in_the_return_window_reverses_points_and_badge(
    defaults, store, member
):
    buy(store, member, "P-1", days_ago=3)
    buy(store, member, "P-2", days_ago=2)
    buy(store, member, "P-3", days_ago=1)
    before = Member.objects.get(pk=member.pk)

    refund_record(store=store, purchase_external_id="P-2", external_id="R-1", amount="20.00", now=NOW)

    completion = ChallengeCompletion.objects.get(member=member)
    assert completion.reversed_at == NOW
    reversal = LedgerEntry.objects.get(member=member, kind="reversal", source_id=completion.ledger_source_id)
    assert reversal.points == -150
    assert "regular" not in badges(member)
    row = ChallengeProgress.objects.get(member=member, challenge__code="three-visits")
    assert (row.progress, row.completions, row.completed_at) == (2, 0, None)
    after = Member.objects.get(pk=member.pk)
    assert after.points_pending == before.points_pending - 150 - 20
    assert ledger_violations() == []

    # a fourth visit completes it again
    buy(store, member, "P-4")
    assert ChallengeCompletion.objects.filter(member=member, reversed_at__isnull=True).count() == 1
    assert "regular" in badges(member)
    assert ledger_violations() == []


def test_a_partial_refund_keeps_the_visit(defaults, store, member):
    for n in range(3):
        buy(store, member, f"P-{n}", days_ago=3 - n)
    refund_record(store=store, purchase_external_id="P-1", external_id="R-1", amount="5.00", now=NOW)
    assert ChallengeCompletion.objects.get(member=member).reversed_at is None


def test_a_refund_after_the_return_window_closed_leaves_the_completion(defaults, store, member):
    for n in range(3):
        buy(store, member, f"P-{n}", days_ago=3 - n)
    later = NOW + timedelta(days=20)
    refund_record(store=store, purchase_external_id="P-1", external_id="R-1", amount="20.00", now=later)
    assert ChallengeCompletion.objects.get(member=member).reversed_at is None
    assert not LedgerEntry.objects.filter(member=member, kind="reversal", source_type="campaign").exists()
    assert ledger_violations() == []


def test_progress_costs_the_same_queries_whatever_the_number_of_challenges(
    defaults, store, member, django_assert_max_num_queries, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    buy(store, member, "warm-up", days_ago=5)

    def cost(external_id: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            buy(store, member, external_id)
        return len(queries)

    one = cost("P-1")
    for n in range(12):
        Challenge.objects.create(
            code=f"extra-{n}",
            name=f"Extra {n}",
            goal=["purchases", "spend", "stores", "categories"][n % 4],
            target=50,
            window_days=30 if n % 2 else None,
            reward_points=10,
            starts_at=NOW - timedelta(days=400),
        )
    buy(store, member, "P-2")  # first after the change: reloads the settings
    assert cost("P-3") <= one + 1  # the categories goal reads the lines: one more query, once


def test_no_engagement_settings_cost_no_queries(program, store, member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    buy(store, member, "warm-up", days_ago=5)
    with CaptureQueriesContext(connection) as queries:
        buy(store, member, "P-1")
    assert not [
        q for q in queries.captured_queries if "campaigns_challenge" in q["sql"] or "badge" in q["sql"]
    ]


def test_a_challenge_added_later_is_recomputed_from_history_by_the_job_idempotently(defaults, store, member):
    for n in range(4):
        buy(store, member, f"P-{n}", days_ago=10 - n, amount="80.00")
    spender = Challenge.objects.create(
        code="spend-300",
        name="Spend 300",
        goal="spend",
        target=300,
        window_days=30,
        reward_points=40,
        starts_at=NOW - timedelta(days=365),
    )
    first = challenges_recompute_chunk(as_of=NOW, first_id=0, last_id=member.pk)
    assert first.completions == 1 and first.points == 40
    completion = ChallengeCompletion.objects.get(member=member, challenge=spender)
    assert completion.purchase.external_id == "P-3"  # 4 x 80 = 320 >= 300 on the fourth
    again = challenges_recompute_chunk(as_of=NOW, first_id=0, last_id=member.pk)
    assert again.rows_changed == 0 and again.points == 0
    assert ledger_violations() == []


def test_engagement_selector_reads_badges_challenges_and_streak(defaults, store, member):
    buy(store, member, "P-1", days_ago=8)
    buy(store, member, "P-2")
    engagement = member_engagement(member, now=NOW)
    assert [b.badge.code for b in engagement.badges] == ["first-purchase"]
    (challenge,) = engagement.challenges
    assert (challenge.code, challenge.progress, challenge.target) == ("three-visits", 2, 3)
    assert engagement.streak.current_weeks >= 1


def test_a_streak_milestone_pays_once_per_streak(defaults, store, member):
    badge = Badge.objects.create(code="roll", name="Roll")
    StreakMilestone.objects.create(weeks=3, points=70, badge=badge)
    for n, days_ago in enumerate([14, 7, 0]):
        buy(store, member, f"P-{n}", days_ago=days_ago)
    buy(store, member, "P-9")
    from campaigns.engagement.models import StreakReward

    assert StreakReward.objects.filter(member=member).count() == 1
    # the third purchase completed three-visits too: one entry pays both
    assert sum(challenge_entries(member).values_list("points", flat=True)) == 150 + 70
    assert "roll" in badges(member)
    assert ledger_violations() == []


def test_a_completion_writes_a_challenge_completed_event_with_it(defaults, store, member):
    from members.webhooks.models import WebhookEvent

    for n in range(3):
        buy(store, member, f"P-{n}", days_ago=3 - n)
    (event,) = WebhookEvent.objects.filter(type="challenge.completed")
    assert event.member_id == member.pk
    assert event.data["challenge"] == "three-visits" and event.data["points"] == 150
    assert event.data["member"] == member.member_number
