"""Campaigns applied when a purchase is recorded: targeting by window, tier and store, the
per-member cap, the total budget (also under concurrency), and that a full refund claws back
campaign points too."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.inputs import PurchaseInput
from campaigns.models import Award, Campaign
from campaigns.services import purchase_record, refund_record
from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member, Tier
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def store(db):
    return factories.StoreFactory()


def buy(store, member: Member, external_id: str, amount: str = "100.00", **extra):
    purchase = {
        "member": member.member_number,
        "external_id": external_id,
        "amount": amount,
        "currency": "USD",
        "purchased_at": extra.pop("purchased_at", NOW - timedelta(minutes=5)),
        **extra,
    }
    return purchase_record(store=store, purchase=PurchaseInput.parse(purchase))


def bonus_campaign(code: str = "bonus", points: int = 40, **fields) -> Campaign:
    return Campaign.objects.create(
        code=code,
        name=code,
        kind=Campaign.Kind.FIXED_BONUS,
        bonus_points=points,
        starts_at=fields.pop("starts_at", NOW - timedelta(days=1)),
        ends_at=fields.pop("ends_at", NOW + timedelta(days=1)),
        **fields,
    )


def sources(outcome) -> dict[str, int]:
    return {award.source: award.points for award in outcome.awards}


def test_only_campaigns_running_at_the_time_of_purchase_apply(store, member):
    bonus_campaign("running")
    bonus_campaign("over", starts_at=NOW - timedelta(days=10), ends_at=NOW - timedelta(days=5))
    bonus_campaign("later", starts_at=NOW + timedelta(days=1), ends_at=NOW + timedelta(days=5))
    bonus_campaign("off", is_active=False)

    outcome = buy(store, member, "p1")
    earlier = buy(store, member, "p2", purchased_at=NOW - timedelta(days=7))

    assert sources(outcome) == {"base": 100, "campaign:running": 40}
    assert sources(earlier) == {"base": 100, "campaign:over": 40}


def test_target_tiers_and_stores(store, member):
    gold_only = bonus_campaign("gold-only")
    gold_only.tiers.set([Tier.objects.get(code="gold")])
    other_store = factories.StoreFactory()
    elsewhere = bonus_campaign("elsewhere")
    elsewhere.stores.set([other_store])
    here = bonus_campaign("here")
    here.stores.set([store])

    assert sources(buy(store, member, "p1")) == {"base": 100, "campaign:here": 40}
    gold = factories.MemberFactory(tier=Tier.objects.get(code="gold"))
    assert set(sources(buy(store, gold, "p2"))) == {
        "base",
        "tier:gold",
        "campaign:here",
        "campaign:gold-only",
    }
    assert set(sources(buy(other_store, member, "p3"))) == {"base", "campaign:elsewhere"}


def test_the_per_member_cap_limits_what_one_member_gets(store, member):
    bonus_campaign(points=40, per_member_cap=100)

    given = [sources(buy(store, member, f"p{i}")).get("campaign:bonus", 0) for i in range(4)]

    assert given == [40, 40, 20, 0]
    assert sources(buy(store, factories.MemberFactory(), "other")) == {"base": 100, "campaign:bonus": 40}


def test_the_budget_is_never_exceeded(store, member):
    campaign = bonus_campaign(points=40, budget_points=100)

    given = [sources(buy(store, member, f"p{i}")).get("campaign:bonus", 0) for i in range(4)]

    assert given == [40, 40, 20, 0]
    campaign.refresh_from_db()
    assert campaign.spent_points == 100


def test_a_full_refund_claws_back_the_campaign_points_too(store, member):
    bonus_campaign(points=40)
    buy(store, member, "p1")

    refund = refund_record(store=store, purchase_external_id="p1", external_id="r1", amount="100.00")

    assert refund.refund.points_reversed == 140
    member.refresh_from_db()
    assert (member.points_available, member.points_pending) == (0, 0)
    assert ledger_violations() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_purchases_never_overspend_the_budget(program, threads):
    store = factories.StoreFactory()
    campaign = bonus_campaign(points=30, budget_points=100)
    members = [factories.MemberFactory() for _ in range(10)]

    results = threads(10, lambda i: buy(store, members[i], f"p{i}"))

    assert not [r for r in results if isinstance(r, Exception)]
    campaign.refresh_from_db()
    awarded = Award.objects.filter(campaign=campaign).values_list("points", flat=True)
    assert sum(awarded) == campaign.spent_points == 100
    assert sorted(awarded, reverse=True)[:4] == [30, 30, 30, 10]
    credited = LedgerEntry.objects.filter(kind="bonus").values_list("points", flat=True)
    assert sum(credited) == 100
    assert ledger_violations() == []


def test_purchase_lines_keep_their_points(store, member):
    Campaign.objects.create(
        code="coffee",
        name="coffee",
        kind=Campaign.Kind.CATEGORY_MULTIPLIER,
        multiplier=Decimal("2"),
        categories="coffee",
        starts_at=NOW - timedelta(days=1),
        ends_at=NOW + timedelta(days=1),
    )

    outcome = buy(
        store,
        member,
        "p1",
        amount="30.00",
        lines=[{"category": "coffee", "amount": "10.00"}, {"sku": "BK-1", "amount": "20.00"}],
    )

    assert outcome.purchase.points_awarded == 40
    assert sorted(outcome.purchase.lines.values_list("amount", "points_awarded")) == [
        (Decimal("10.00"), 20),
        (Decimal("20.00"), 20),
    ]
