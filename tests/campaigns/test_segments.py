"""Segments: each condition, AND within a group and OR across groups, negation, the job's
materialised membership (with counts), and admin's live preview from the same predicate."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from campaigns.models import Segment, SegmentCondition, SegmentMember
from campaigns.segments import segment_preview, segment_sample
from members.jobs import job_run
from members.models import Member, Purchase, PurchaseLine, Tier
from tests import factories

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 5, 20, 12, 0, tzinfo=UTC)
F = SegmentCondition.Field


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def bought(
    member: Member, amount: str, *, days_ago: int, category: str = "", sku: str = "", store=None
) -> None:
    store = store or factories.StoreFactory(code="main", name="Main")
    at = NOW - timedelta(days=days_ago)
    purchase = Purchase.objects.create(
        member=member, store=store, external_id=f"{member.pk}-{days_ago}-{amount}", amount=Decimal(amount),
        currency="USD", purchased_at=at, available_at=at,
    )  # fmt: skip
    PurchaseLine.objects.create(purchase=purchase, amount=Decimal(amount), category=category, sku=sku)


def segment(*conditions: dict) -> Segment:
    seg = Segment.objects.create(code=f"s{Segment.objects.count()}", name="S")
    for spec in conditions:
        SegmentCondition.objects.create(segment=seg, **spec)
    return seg


def members_of(seg: Segment) -> set[int]:
    job_run(name="refresh_segments", notify=False)
    return set(SegmentMember.objects.filter(segment=seg).values_list("member_id", flat=True))


@pytest.fixture
def people(program):
    gold = Tier.objects.get(code="gold")
    long_ago = NOW - timedelta(days=400)
    lapsed = factories.MemberFactory(birth_date=date(1990, 5, 3), marketing_opt_in=True, enrolled_at=long_ago)
    bought(lapsed, "40.00", days_ago=90, category="Coffee")
    recent = factories.MemberFactory(tier=gold, birth_date=date(1985, 11, 1), enrolled_at=long_ago)
    bought(recent, "250.00", days_ago=5, category="Tea", sku="TEA-1")
    bought(recent, "30.00", days_ago=200, category="coffee")
    never = factories.MemberFactory(enrolled_at=NOW - timedelta(days=3))
    closed = factories.MemberFactory(
        status=Member.Status.CLOSED if hasattr(Member.Status, "CLOSED") else "closed"
    )
    bought(closed, "40.00", days_ago=90)
    return {"lapsed": lapsed.pk, "recent": recent.pk, "never": never.pk}


@pytest.mark.parametrize(
    "spec, who",
    [
        ({"field": F.TIER, "text": "GOLD"}, {"recent"}),
        ({"field": F.DAYS_SINCE_PURCHASE, "number": 60}, {"lapsed"}),
        ({"field": F.DAYS_SINCE_PURCHASE, "operator": "lte", "number": 30}, {"recent"}),
        ({"field": F.PURCHASES, "number": 2}, {"recent"}),
        ({"field": F.PURCHASES, "operator": "lte", "number": 0}, {"never"}),
        ({"field": F.PURCHASES, "number": 1, "days": 30}, {"recent"}),
        ({"field": F.SPEND, "number": 100, "days": 30}, {"recent"}),
        ({"field": F.SPEND, "operator": "lte", "number": 50}, {"lapsed", "never"}),
        ({"field": F.CATEGORY, "text": "coffee"}, {"lapsed", "recent"}),
        ({"field": F.CATEGORY, "text": "coffee", "days": 100}, {"lapsed"}),
        ({"field": F.SKU, "text": "tea-1"}, {"recent"}),
        ({"field": F.STORE, "text": "main"}, {"lapsed", "recent"}),
        ({"field": F.BIRTHDAY_MONTH, "number": 0}, {"lapsed"}),
        ({"field": F.BIRTHDAY_MONTH, "number": 11}, {"recent"}),
        ({"field": F.JOINED_WITHIN, "days": 7}, {"never"}),
        ({"field": F.MARKETING_OPT_IN}, {"lapsed"}),
        ({"field": F.MARKETING_OPT_IN, "negate": True}, {"recent", "never"}),
    ],
)
def test_each_condition(people, spec, who):
    assert members_of(segment(spec)) == {people[name] for name in who}


def test_and_within_a_group_or_across_groups(people):
    both = segment({"field": F.CATEGORY, "text": "coffee"}, {"field": F.TIER, "text": "gold"})
    either = segment({"field": F.TIER, "text": "gold"}, {"field": F.JOINED_WITHIN, "days": 7, "group": 2})

    assert members_of(both) == {people["recent"]}
    assert members_of(either) == {people["recent"], people["never"]}


def test_the_lapsed_default_and_the_job_keeps_membership_current(people):
    from campaigns.demo import seed_offers

    seed_offers()
    lapsed = Segment.objects.get(code="lapsed")
    assert members_of(lapsed) == {people["lapsed"]}
    lapsed.refresh_from_db()
    assert (lapsed.member_count, lapsed.refreshed_at) == (1, NOW)

    bought(Member.objects.get(pk=people["lapsed"]), "10.00", days_ago=1)
    run, totals = job_run(name="refresh_segments", notify=False)
    assert (totals.added, totals.removed) == (0, 1)
    assert not SegmentMember.objects.filter(segment=lapsed).exists()
    assert job_run(name="refresh_segments", notify=False)[0].rows_changed == 0


def test_a_segment_without_conditions_is_empty_and_an_inactive_one_is_left_alone(people):
    assert members_of(segment()) == set()
    paused = segment({"field": F.MARKETING_OPT_IN})
    job_run(name="refresh_segments", notify=False)
    Segment.objects.filter(pk=paused.pk).update(is_active=False)
    SegmentCondition.objects.filter(segment=paused).update(negate=True)
    assert members_of(paused) == {people["lapsed"]}


def test_the_preview_matches_what_the_job_materialises(people):
    seg = segment({"field": F.SPEND, "operator": "lte", "number": 50})
    count, sample = segment_preview(seg)
    assert count == 2 and {m.pk for m in sample} == {people["lapsed"], people["never"]}
    assert members_of(seg) == {m.pk for m in sample}
    assert {m.pk for m in segment_sample(seg)} == {m.pk for m in sample}


def test_paid_membership_and_challenge_completed(people):
    from campaigns.models import Challenge, ChallengeCompletion
    from members.memberships import membership_cancel, membership_start

    store = factories.StoreFactory(code="till", name="Till")
    recent, lapsed = Member.objects.get(pk=people["recent"]), Member.objects.get(pk=people["lapsed"])
    membership_start(store=store, member_number=recent.member_number, plan_code="plus", external_id="A",
                     now=NOW - timedelta(days=10))  # fmt: skip
    ended = membership_start(store=store, member_number=lapsed.member_number, plan_code="plus",
                             external_id="B", now=NOW - timedelta(days=10)).membership  # fmt: skip
    membership_cancel(membership_id=ended.pk, store=store, now=NOW - timedelta(days=2))
    walk = Challenge.objects.create(code="walk", name="Walk", goal="purchases", target=1)
    other = Challenge.objects.create(code="other", name="Other", goal="purchases", target=1)
    done = {"points": 0, "sequence": 1}
    ChallengeCompletion.objects.create(member=recent, challenge=walk, completed_at=NOW - timedelta(days=40),
                                       available_at=NOW, **done)  # fmt: skip
    ChallengeCompletion.objects.create(member=lapsed, challenge=other, completed_at=NOW - timedelta(days=1),
                                       available_at=NOW, reversed_at=NOW, **done)  # fmt: skip

    assert members_of(segment({"field": F.PAID_MEMBERSHIP})) == {recent.pk}
    assert members_of(segment({"field": F.PAID_MEMBERSHIP, "text": "PLUS"})) == {recent.pk}
    assert members_of(segment({"field": F.PAID_MEMBERSHIP, "text": "gold-club"})) == set()
    assert members_of(segment({"field": F.CHALLENGE_COMPLETED})) == {recent.pk}  # not a reversed one
    assert members_of(segment({"field": F.CHALLENGE_COMPLETED, "text": "walk"})) == {recent.pk}
    assert members_of(segment({"field": F.CHALLENGE_COMPLETED, "days": 30})) == set()
    never_completed = segment({"field": F.CHALLENGE_COMPLETED, "negate": True})
    assert members_of(never_completed) == {lapsed.pk, people["never"]}
