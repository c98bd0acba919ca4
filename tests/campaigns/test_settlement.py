"""Settling ended campaigns: spend thresholds and retroactive campaigns pay once, per member,
by chunk, from the command and the beat task; refunds lower qualifying spend."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from campaigns.inputs import PurchaseInput
from campaigns.models import Award, Campaign
from campaigns.services import campaigns_settle, purchase_record, refund_record
from campaigns.tasks import campaigns_settle_task
from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)
START, END = NOW - timedelta(days=30), NOW - timedelta(days=1)


@pytest.fixture
def store(db):
    return factories.StoreFactory()


def buy(store, member: Member, external_id: str, amount: str, days_ago: int = 10) -> None:
    purchase = {
        "member": member.member_number,
        "external_id": external_id,
        "amount": amount,
        "currency": "USD",
        "purchased_at": NOW - timedelta(days=days_ago),
    }
    purchase_record(store=store, purchase=PurchaseInput.parse(purchase))


def threshold(**fields) -> Campaign:
    return Campaign.objects.create(
        **{
            "code": "spend-300",
            "name": "Spend 300, get 500",
            "kind": Campaign.Kind.SPEND_THRESHOLD,
            "bonus_points": 500,
            "threshold_amount": Decimal("300"),
            "starts_at": START,
            "ends_at": END,
            **fields,
        }
    )


def campaign_points(member: Member) -> int:
    return sum(
        LedgerEntry.objects.filter(member=member, source_type="campaign").values_list("points", flat=True)
    )


def test_a_threshold_campaign_pays_members_who_spent_enough_once(store, program):
    campaign = threshold()
    reached, short, refunded = (factories.MemberFactory() for _ in range(3))
    buy(store, reached, "a1", "200.00")
    buy(store, reached, "a2", "150.00")
    buy(store, short, "b1", "299.99")
    buy(store, refunded, "c1", "400.00")
    refund_record(store=store, purchase_external_id="c1", external_id="rc1", amount="150.00")
    buy(store, short, "b2", "500.00", days_ago=40)  # before the window

    report = campaigns_settle(as_of=NOW, chunk_size=1)
    again = campaigns_settle(as_of=NOW)

    assert (report.campaigns, report.members, report.points) == (1, 1, 500)
    assert (again.campaigns, again.members) == (0, 0)
    assert [campaign_points(m) for m in (reached, short, refunded)] == [500, 0, 0]
    campaign.refresh_from_db()
    assert campaign.settled_at is not None
    assert (
        Award.objects.get(campaign=campaign).settlement_key == f"campaign:{campaign.pk}:member:{reached.pk}"
    )
    assert ledger_violations() == []


def test_a_running_campaign_is_not_settled_yet(store, member):
    threshold(ends_at=NOW + timedelta(days=3))
    buy(store, member, "a1", "400.00")

    assert campaigns_settle(as_of=NOW).campaigns == 0
    assert campaigns_settle(as_of=NOW + timedelta(days=4)).points == 500


def test_a_settlement_cut_short_pays_the_rest_when_run_again(store, program):
    campaign = threshold()
    members = [factories.MemberFactory() for _ in range(3)]
    for i, member in enumerate(members):
        buy(store, member, f"p{i}", "300.00")
    # As if a first run paid the first member and died before marking the campaign settled.
    from campaigns.services.settlement import campaign_settle_chunk

    campaign_settle_chunk(
        campaign=campaign, program=program, first_id=members[0].pk, last_id=members[0].pk, now=NOW
    )

    report = campaigns_settle(as_of=NOW)

    assert report.members == 2
    assert [campaign_points(m) for m in members] == [500, 500, 500]
    assert LedgerEntry.objects.filter(source_type="campaign").count() == 3


def test_the_budget_and_cap_hold_at_settlement(store, program):
    threshold(budget_points=700)
    members = [factories.MemberFactory() for _ in range(3)]
    for i, member in enumerate(members):
        buy(store, member, f"p{i}", "300.00")

    report = campaigns_settle(as_of=NOW)

    assert report.points == 700
    assert sorted(campaign_points(m) for m in members) == [0, 200, 500]


def test_a_retroactive_campaign_pays_purchases_recorded_before_it_existed(store, member):
    buy(store, member, "old", "120.00")
    campaign = Campaign.objects.create(
        code="retro-double",
        name="Double points, retroactive",
        kind=Campaign.Kind.MULTIPLIER,
        multiplier=Decimal("2"),
        starts_at=START,
        ends_at=NOW + timedelta(days=1),
        retroactive=True,
    )
    buy(store, member, "new", "50.00", days_ago=2)  # earns the campaign live

    report = campaigns_settle(as_of=NOW + timedelta(days=2))

    assert report.points == 120
    assert campaign_points(member) == 120
    live = Award.objects.get(campaign=campaign, purchase__external_id="new")
    assert live.points == 50
    assert campaigns_settle(as_of=NOW + timedelta(days=3)).points == 0


def test_the_command_and_the_task_settle(store, member, capsys):
    threshold()
    buy(store, member, "a1", "300.00")

    call_command("settle_campaigns", "--as-of", (NOW - timedelta(days=5)).date().isoformat())
    not_yet = capsys.readouterr().out
    call_command("settle_campaigns", "--as-of", NOW.date().isoformat())
    done = capsys.readouterr().out

    assert "Settled 0 campaign(s)" in not_yet
    assert "Settled 1 campaign(s): 1 member payment(s), 500 points." in done
    assert campaigns_settle_task.name == "campaigns.tasks.campaigns_settle_task"
    assert campaigns_settle_task.apply().get() == {"campaigns": 0, "members": 0, "points": 0}
    assert campaign_points(member) == 500


def test_retroactive_category_and_first_purchase_campaigns(store, program):
    buyer, newcomer = factories.MemberFactory(), factories.MemberFactory()
    mixed = {
        "member": buyer.member_number,
        "external_id": "mixed",
        "amount": "60.00",
        "currency": "USD",
        "purchased_at": NOW - timedelta(days=10),
        "lines": [{"category": "coffee", "amount": "40.00"}, {"category": "books", "amount": "20.00"}],
    }
    purchase_record(store=store, purchase=PurchaseInput.parse(mixed))
    refund_record(store=store, purchase_external_id="mixed", external_id="half", amount="30.00")
    buy(store, buyer, "before", "10.00", days_ago=40)
    buy(store, newcomer, "first", "25.00")
    common = {"starts_at": START, "ends_at": END, "retroactive": True}
    Campaign.objects.create(
        code="coffee-x3",
        name="Coffee x3",
        kind=Campaign.Kind.CATEGORY_MULTIPLIER,
        multiplier=Decimal("3"),
        categories="coffee",
        **common,
    )
    Campaign.objects.create(
        code="welcome", name="Welcome", kind=Campaign.Kind.FIRST_PURCHASE, bonus_points=75, **common
    )
    Campaign.objects.create(
        code="per-visit", name="Per visit", kind=Campaign.Kind.FIXED_BONUS, bonus_points=5, **common
    )

    report = campaigns_settle(as_of=NOW)

    # Coffee: 40.00 of which half was refunded -> 20.00 x (3 - 1) = 40.
    paid = {(a.member_id, a.source): a.points for a in Award.objects.filter(settlement_key__isnull=False)}
    assert paid == {
        (buyer.pk, "campaign:coffee-x3"): 40,
        (buyer.pk, "campaign:per-visit"): 5,
        (newcomer.pk, "campaign:welcome"): 75,
        (newcomer.pk, "campaign:per-visit"): 5,
    }
    assert report.campaigns == 3 and report.points == 125
    assert ledger_violations() == []
