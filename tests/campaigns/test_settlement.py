"""Settling ended campaigns: spend thresholds and retroactive campaigns pay once, per member,
by chunk, from the command and the beat task; refunds lower qualifying spend."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.engine import Applicator, LineInput, PurchaseContext
from campaigns.inputs import PurchaseInput
from campaigns.models import Award, Campaign
from campaigns.services import campaigns_settle, purchase_record, refund_record
from campaigns.tasks import campaigns_settle_task
from members.ledger.invariants import ledger_violations
from members.models import JobRun, LedgerEntry, Member, PointLot, Tier, TierChange
from tests import factories
from tests.jobs.support import Killed, killed_after

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)
START, END = NOW - timedelta(days=30), NOW - timedelta(days=1)
# A campaign settles once its end plus the return window (the program's 14 days) has passed.
SETTLES = timedelta(days=14)


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

    report = campaigns_settle(as_of=NOW + SETTLES, chunk_size=1)
    again = campaigns_settle(as_of=NOW + SETTLES)

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

    assert campaigns_settle(as_of=NOW + SETTLES).campaigns == 0
    assert campaigns_settle(as_of=NOW + SETTLES + timedelta(days=4)).points == 500


def test_a_settlement_cut_short_pays_the_rest_when_run_again(store, program):
    campaign = threshold()
    members = [factories.MemberFactory() for _ in range(3)]
    for i, member in enumerate(members):
        buy(store, member, f"p{i}", "300.00")
    # As if a first run paid the first member and died before marking the campaign settled.
    from campaigns.services.settlement import campaigns_settle_chunk

    campaigns_settle_chunk(as_of=NOW + SETTLES, first_id=members[0].pk, last_id=members[0].pk)

    report = campaigns_settle(as_of=NOW + SETTLES)

    assert report.members == 2
    assert [campaign_points(m) for m in members] == [500, 500, 500]
    assert LedgerEntry.objects.filter(source_type="campaign").count() == 3
    campaign.refresh_from_db()
    assert campaign.settled_at is not None


def test_the_budget_and_cap_hold_at_settlement(store, program):
    threshold(budget_points=700)
    members = [factories.MemberFactory() for _ in range(3)]
    for i, member in enumerate(members):
        buy(store, member, f"p{i}", "300.00")

    report = campaigns_settle(as_of=NOW + SETTLES)

    assert report.points == 700
    assert sorted(campaign_points(m) for m in members) == [0, 200, 500]


def test_the_per_member_cap_counts_what_the_campaign_already_gave(store, program):
    capped, fresh = factories.MemberFactory(), factories.MemberFactory()
    buy(store, capped, "c1", "200.00")  # both recorded before the campaign existed
    buy(store, fresh, "f1", "200.00")
    campaign = Campaign.objects.create(
        code="retro-double",
        name="Double points, retroactive",
        kind=Campaign.Kind.MULTIPLIER,
        multiplier=Decimal("2"),
        starts_at=START,
        ends_at=NOW - timedelta(hours=1),
        retroactive=True,
        per_member_cap=120,
    )
    buy(store, capped, "c2", "50.00", days_ago=12)  # earns the campaign live: 50 x (2 - 1)

    report = campaigns_settle(as_of=NOW + SETTLES)

    paid = dict(Award.objects.filter(settlement_key__isnull=False).values_list("member_id", "points"))
    assert paid == {capped.pk: 120 - 50, fresh.pk: 120}
    assert report.points == 190
    assert sum(Award.objects.filter(campaign=campaign, member=capped).values_list("points", flat=True)) == 120
    assert ledger_violations() == []


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

    report = campaigns_settle(as_of=NOW + SETTLES + timedelta(days=2))

    assert report.points == 120
    assert campaign_points(member) == 120
    live = Award.objects.get(campaign=campaign, purchase__external_id="new")
    assert live.points == 50
    assert campaigns_settle(as_of=NOW + SETTLES + timedelta(days=3)).points == 0


def test_the_command_and_the_task_settle(store, member, capsys):
    threshold()
    buy(store, member, "a1", "300.00")

    call_command("settle_campaigns", "--as-of", (NOW + SETTLES - timedelta(days=5)).date().isoformat())
    not_yet = capsys.readouterr().out
    call_command("settle_campaigns", "--as-of", (NOW + SETTLES).date().isoformat())
    done = capsys.readouterr().out

    assert "Settled 0 campaign(s)" in not_yet
    assert "Settled 1 campaign(s): 1 member payment(s), 500 points." in done
    assert campaigns_settle_task.name == "campaigns.tasks.campaigns_settle_task"
    outcome = campaigns_settle_task.apply().get()
    assert (outcome.job, outcome.outcome, outcome.skipped) == ("settle_campaigns", "succeeded", False)
    assert outcome.detail == "members 0, points 0, campaigns 0"
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

    report = campaigns_settle(as_of=NOW + SETTLES)

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


# --- one run, killed runs, two runs at once ----------------------------------------------------


def settlement_state() -> dict:
    """Every row settlement writes, without ids that depend on insertion order."""
    return {
        "members": list(
            Member.objects.order_by("pk").values_list("pk", "points_available", "points_pending")
        ),
        "entries": sorted(
            LedgerEntry.objects.filter(source_type="campaign").values_list(
                "member_id", "kind", "points", "balance_after", "source_id", "idempotency_key", "created_at"
            )
        ),
        "lots": sorted(
            PointLot.objects.filter(entry__source_type="campaign").values_list(
                "member_id", "points", "remaining", "is_pending", "expires_at"
            )
        ),
        "awards": sorted(
            Award.objects.filter(settlement_key__isnull=False).values_list(
                "member_id", "campaign_id", "source", "points", "settlement_key", "created_at"
            )
        ),
        "campaigns": list(Campaign.objects.order_by("pk").values_list("code", "spent_points", "settled_at")),
    }


def campaigns_with_work(store, count: int = 9, lowest: int = 250, budget: int | None = 2300) -> list[Member]:
    """Members spending from ``lowest`` up around a threshold (with a budget that runs out
    partway: four payments of 500 and one of 300), and purchases recorded before a retroactive
    multiplier existed."""
    members = [factories.MemberFactory() for _ in range(count)]
    for i, member in enumerate(members):
        buy(store, member, f"t{i}", str(lowest + 40 * i))
    threshold(budget_points=budget)
    Campaign.objects.create(
        code="retro-triple",
        name="Triple points, retroactive",
        kind=Campaign.Kind.MULTIPLIER,
        multiplier=Decimal("3"),
        starts_at=START,
        ends_at=END,
        retroactive=True,
    )
    return members


def test_a_settlement_killed_halfway_and_run_again_ends_as_one_clean_run(store, program, monkeypatch):
    campaigns_with_work(store)
    before = settlement_state()

    clean_point = transaction.savepoint()
    clean = campaigns_settle(as_of=NOW + SETTLES, chunk_size=2)
    clean_state = settlement_state()
    transaction.savepoint_rollback(clean_point)
    assert settlement_state() == before

    with monkeypatch.context() as patch:
        killed_after(patch, "settle_campaigns", chunks=2)
        with pytest.raises(Killed):
            campaigns_settle(as_of=NOW + SETTLES, chunk_size=2)
    killed = JobRun.objects.get(name="settle_campaigns", outcome=JobRun.Outcome.FAILED)
    assert (killed.chunks_done, killed.chunks_total) == (2, 5)
    partial = settlement_state()
    assert partial != before and partial != clean_state
    assert not Campaign.objects.filter(settled_at__isnull=False).exists()  # not every chunk paid

    rerun = campaigns_settle(as_of=NOW + SETTLES, chunk_size=2)

    assert settlement_state() == clean_state
    tripled = 2 * sum(250 + 40 * i for i in range(9))
    assert (clean.members, clean.points, clean.campaigns) == (9 + 5, 2300 + tripled, 2)
    assert killed.rows_changed + rerun.members == clean.members
    assert rerun.campaigns == 2
    assert ledger_violations() == []


def test_settling_twice_pays_nothing_the_second_time(store, program):
    campaigns_with_work(store)
    first = campaigns_settle(as_of=NOW + SETTLES, chunk_size=4)
    state = settlement_state()

    # Even with the campaigns not marked settled (a run that died after its last chunk).
    Campaign.objects.update(settled_at=None)
    again = campaigns_settle(as_of=NOW + SETTLES, chunk_size=3)

    assert (first.members, first.campaigns) == (14, 2)
    assert (again.members, again.points, again.campaigns) == (0, 0, 2)
    assert settlement_state()["entries"] == state["entries"]
    assert settlement_state()["awards"] == state["awards"]
    assert Campaign.objects.get(code="spend-300").spent_points == 2300


def test_a_chunk_takes_the_same_queries_for_two_members_as_for_eight(store, program):
    """Set-based: what a chunk does is a fixed number of statements, whatever its members."""
    campaigns_with_work(store, count=10, lowest=310, budget=None)
    ids = sorted(Member.objects.values_list("pk", flat=True))
    from campaigns.services.settlement import campaigns_settle_chunk

    with CaptureQueriesContext(connection) as two:
        paid_two = campaigns_settle_chunk(as_of=NOW + SETTLES, first_id=ids[0], last_id=ids[1])
    with CaptureQueriesContext(connection) as eight:
        paid_eight = campaigns_settle_chunk(as_of=NOW + SETTLES, first_id=ids[2], last_id=ids[9])

    assert (paid_two.members, paid_eight.members) == (2 + 2, 8 + 8)
    assert len(two.captured_queries) == len(eight.captured_queries)


# --- what a retroactive multiplier pays ------------------------------------------------------


def test_a_retroactive_multiplier_pays_what_the_strategy_gives_at_purchase_tier_included(store, program):
    gold = Tier.objects.get(code="gold")
    member = factories.MemberFactory(tier=gold)
    lines = [{"category": "coffee", "amount": "10.50"}, {"category": "books", "amount": "20.25"}]
    purchase_record(
        store=store,
        member_number=member.member_number,
        external_id="old",
        amount="30.75",
        currency="USD",
        purchased_at=NOW - timedelta(days=10),
        lines=lines,
    )
    campaign = Campaign.objects.create(
        code="retro-double",
        name="Double points, retroactive",
        kind=Campaign.Kind.MULTIPLIER,
        multiplier=Decimal("2"),
        starts_at=START,
        ends_at=NOW + timedelta(days=1),
        retroactive=True,
    )

    report = campaigns_settle(as_of=NOW + SETTLES + timedelta(days=2))

    # The same purchase through the engine, as it is applied at purchase time.
    context = PurchaseContext(
        amount=Decimal("30.75"),
        lines=[LineInput(amount=Decimal(line["amount"]), category=line["category"]) for line in lines],
        base_rate=program.base_earn_rate,
        tier_multiplier=gold.multiplier,
        tier_code=gold.code,
    )
    at_purchase = Applicator().apply(context, [campaign]).awards[-1]
    assert (at_purchase.campaign, at_purchase.points) == (campaign, (31 - 15) + (60 - 30))  # per line
    assert report.points == campaign_points(member) == at_purchase.points


def test_a_retroactive_multiplier_uses_the_tier_the_member_had_when_they_bought(store, program):
    silver, gold = Tier.objects.get(code="silver"), Tier.objects.get(code="gold")
    member = factories.MemberFactory(tier=silver)
    buy(store, member, "on-silver", "100.00")  # earned 125 at silver (x1.25)
    # Moved up later, before the campaign is settled.
    TierChange.objects.create(
        member=member,
        from_tier=silver,
        to_tier=gold,
        reason=TierChange.Reason.CATCH_UP,
        created_at=timezone.now(),
    )
    Member.objects.filter(pk=member.pk).update(tier=gold)
    Campaign.objects.create(
        code="retro-double",
        name="Double points, retroactive",
        kind=Campaign.Kind.MULTIPLIER,
        multiplier=Decimal("2"),
        starts_at=START,
        ends_at=END,
        retroactive=True,
    )

    report = campaigns_settle(as_of=NOW + SETTLES)

    assert report.points == campaign_points(member) == 250 - 125  # not gold's 300 - 150
    assert ledger_violations() == []


def test_a_retroactive_multiplier_counts_the_paid_plan_the_member_had_when_they_bought(store, program):
    from members.memberships import membership_cancel, membership_start

    member = factories.MemberFactory()
    plus = membership_start(store=store, member_number=member.member_number, plan_code="plus",
                            external_id="A", now=NOW - timedelta(days=20)).membership  # fmt: skip
    buy(store, member, "with-plus", "100.00")
    earned = LedgerEntry.objects.get(member=member, source_type="purchase").points
    # Cancelled before the campaign settles: what counts is the plan at the purchase.
    membership_cancel(membership_id=plus.pk, store=store, now=timezone.now() + timedelta(seconds=1))
    Campaign.objects.create(
        code="retro-double",
        name="Double points, retroactive",
        kind=Campaign.Kind.MULTIPLIER,
        multiplier=Decimal("2"),
        starts_at=START,
        ends_at=END,
        retroactive=True,
    )

    report = campaigns_settle(as_of=NOW + SETTLES)

    assert earned == 100 * Decimal("1.5") * Tier.objects.get(code="gold").multiplier  # gold floor, x1.5
    assert report.points == campaign_points(member) == earned  # x2: the purchase's points again
    assert ledger_violations() == []


# --- concurrency ----------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_settlements_at_once_pay_each_member_once(program, threads):
    store = factories.StoreFactory()
    campaigns_with_work(store)

    results = threads(2, lambda i: campaigns_settle(as_of=NOW + SETTLES, chunk_size=3))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.members for r in results) == 14
    assert sum(r.points for r in results) == 2300 + 2 * sum(250 + 40 * i for i in range(9))
    assert LedgerEntry.objects.filter(source_type="campaign").count() == 14
    assert Campaign.objects.get(code="spend-300").spent_points == 2300
    assert not Campaign.objects.filter(settled_at__isnull=True).exists()
    assert ledger_violations() == []


def test_a_threshold_campaign_waits_for_the_return_window_and_counts_refunds_made_in_it(store, program):
    """Given a member who reached the threshold and returned half of it 5 days after the end:
    nothing is paid before the window closes, and after it the member, below the threshold
    net of the refund, gets nothing."""
    threshold()
    returner, keeper = factories.MemberFactory(), factories.MemberFactory()
    buy(store, returner, "r1", "400.00")
    buy(store, keeper, "k1", "400.00")

    assert campaigns_settle(as_of=END + SETTLES - timedelta(seconds=1)).campaigns == 0
    refund_record(store=store, purchase_external_id="r1", external_id="rr1", amount="200.00")
    report = campaigns_settle(as_of=END + SETTLES)

    assert (report.campaigns, report.members, report.points) == (1, 1, 500)
    assert campaign_points(returner) == 0 and campaign_points(keeper) == 500
    assert ledger_violations() == []
