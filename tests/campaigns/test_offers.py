"""Offers through ``purchase_record``: who may use them, activation and its window, uses per
member, the budget (also under concurrency), refunds, and the ledger after each."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.errors import OfferNotFound
from campaigns.models import (
    Award,
    Campaign,
    Offer,
    OfferActivation,
    OfferTarget,
    OfferUse,
    Segment,
    SegmentMember,
)
from campaigns.offers import member_offers, offer_activate, offer_targets_upload
from campaigns.services import purchase_record, refund_record
from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def store(db):
    return factories.StoreFactory()


def buy(store, member: Member, external_id: str, amount: str = "100.00", **extra):
    return purchase_record(
        store=store,
        member_number=member.member_number,
        external_id=external_id,
        amount=amount,
        currency="USD",
        purchased_at=extra.pop("purchased_at", NOW - timedelta(minutes=5)),
        now=extra.pop("now", None),
        **extra,
    )


def make_offer(
    code: str = "deal", *, members: list[Member] = (), segment: Segment | None = None, **fields
) -> Offer:
    fields.setdefault("kind", Offer.Kind.SPEND_BONUS)
    fields.setdefault("bonus_points", 50)
    offer = Offer.objects.create(
        code=code,
        name=code.title(),
        segment=segment,
        starts_at=fields.pop("starts_at", NOW - timedelta(days=1)),
        ends_at=fields.pop("ends_at", NOW + timedelta(days=10)),
        **fields,
    )
    OfferTarget.objects.bulk_create([OfferTarget(offer=offer, member=m) for m in members])
    return offer


def sources(outcome) -> dict[str, int]:
    return {award.source: award.points for award in outcome.awards}


def test_an_automatic_offer_applies_to_its_members_only_and_once(store, member):
    other = factories.MemberFactory()
    make_offer(members=[member])

    first = buy(store, member, "p1")
    assert sources(first)["offer:deal"] == 50
    assert "offer:deal" not in sources(buy(store, other, "p2"))
    assert "offer:deal" not in sources(buy(store, member, "p3"))  # one use per member

    use = OfferUse.objects.get()
    assert (use.member_id, use.purchase_id, use.sequence, use.points) == (member.pk, first.purchase.pk, 1, 50)
    bonus = LedgerEntry.objects.get(member=member, kind=LedgerEntry.Kind.BONUS)
    assert bonus.points == 50 and "Deal" in bonus.description
    assert Award.objects.get(source="offer:deal").campaign_id is None
    assert ledger_violations() == []


def test_segment_members_get_the_offer_and_others_do_not(store, member):
    segment = Segment.objects.create(code="vip", name="VIP")
    SegmentMember.objects.create(segment=segment, member=member)
    make_offer(segment=segment, uses_per_member=2)

    assert sources(buy(store, member, "p1"))["offer:deal"] == 50
    assert sources(buy(store, member, "p2"))["offer:deal"] == 50
    assert "offer:deal" not in sources(buy(store, member, "p3"))
    assert list(OfferUse.objects.order_by("sequence").values_list("sequence", flat=True)) == [1, 2]
    assert "offer:deal" not in sources(buy(store, factories.MemberFactory(), "p4"))


def test_an_activate_first_offer_applies_only_within_its_activation_window(store, member):
    offer = make_offer(
        kind=Offer.Kind.MULTIPLIER, multiplier=Decimal("2"), members=[member],
        requires_activation=True, days_after_activation=30,
    )  # fmt: skip
    assert "offer:deal" not in sources(buy(store, member, "before"))

    activated = offer_activate(member=member, code="deal", now=NOW - timedelta(minutes=1))
    assert activated.activated and activated.valid_until == NOW + timedelta(days=10)  # the offer ends first

    # a purchase dated before the activation does not use it; the next one does
    assert "offer:deal" not in sources(buy(store, member, "backdated", purchased_at=NOW - timedelta(hours=1)))
    used = buy(store, member, "next", amount="80.50", purchased_at=NOW)
    assert sources(used)["offer:deal"] == sources(used)["base"] == 80
    assert "offer:deal" not in sources(buy(store, member, "after", purchased_at=NOW))
    assert OfferActivation.objects.get(offer=offer).valid_until == NOW + timedelta(days=10)
    assert ledger_violations() == []


def test_an_activation_ends_after_its_days(store, member):
    make_offer(
        members=[member], requires_activation=True, days_after_activation=2,
        starts_at=NOW - timedelta(days=5), ends_at=NOW + timedelta(days=30),
    )  # fmt: skip
    offer_activate(member=member, code="deal", now=NOW - timedelta(days=3))

    assert "offer:deal" not in sources(buy(store, member, "late", purchased_at=NOW))
    assert member_offers(member, now=NOW) == []


def test_activating_an_offer_not_meant_for_the_member_is_not_found_and_writes_nothing(member):
    make_offer(members=[factories.MemberFactory()], requires_activation=True)
    make_offer("over", members=[member], starts_at=NOW - timedelta(days=5), ends_at=NOW - timedelta(days=1))
    make_offer("off", members=[member], is_active=False)

    for code in ("deal", "over", "off", "nope"):
        with pytest.raises(OfferNotFound):
            offer_activate(member=member, code=code)
    assert not OfferActivation.objects.exists()


def test_activating_twice_keeps_the_first_activation(member):
    make_offer(members=[member], requires_activation=True, days_after_activation=5)
    first = offer_activate(member=member, code="deal", now=NOW)
    again = offer_activate(member=member, code="deal", now=NOW + timedelta(days=1))

    assert first.valid_until == again.valid_until == NOW + timedelta(days=5)
    assert OfferActivation.objects.count() == 1


def test_the_budget_caps_what_an_offer_gives_in_total(store, program):
    members = factories.MemberFactory.create_batch(3)
    offer = make_offer(members=members, budget_points=120)

    given = [sources(buy(store, m, f"p{i}")).get("offer:deal", 0) for i, m in enumerate(members)]

    assert given == [50, 50, 20]
    offer.refresh_from_db()
    assert offer.spent_points == 120
    assert ledger_violations() == []


def test_a_full_refund_claws_back_the_offer_points_too(store, member):
    make_offer(members=[member])
    outcome = buy(store, member, "p1", amount="100.00")
    assert outcome.purchase.points_awarded == 100 + 50

    refund_record(store=store, purchase_external_id="p1", external_id="r1", amount="100.00")

    member.refresh_from_db()
    assert member.points_available + member.points_pending == 0
    assert ledger_violations() == []


def test_offers_stack_with_campaigns_by_priority(store, member):
    Campaign.objects.create(
        code="weekend", name="Weekend", kind=Campaign.Kind.FIXED_BONUS, bonus_points=30, priority=5,
        starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=1),
    )  # fmt: skip
    make_offer(members=[member], priority=9, exclusive=True)

    outcome = buy(store, member, "p1")

    assert [a.source for a in outcome.awards] == ["base", "offer:deal"]


def test_uploading_a_list_adds_members_once_and_reports_unknown_numbers(member):
    offer = make_offer()
    assert offer_targets_upload(offer=offer, member_numbers=[member.member_number, "X-404", ""]) == (
        1,
        ["X-404"],
    )
    assert offer_targets_upload(offer=offer, member_numbers=[member.member_number]) == (0, [])


def test_a_purchase_reads_offers_in_a_fixed_number_of_queries(store, django_assert_max_num_queries, program):
    def queries_for(count: int) -> int:
        member = factories.MemberFactory()
        for i in range(count):
            make_offer(f"o{count}-{i}", members=[member], bonus_points=1 + i, budget_points=1000)
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            outcome = buy(store, member, f"q{count}")
        assert len([a for a in outcome.awards if a.source.startswith("offer:")]) == count
        return len(captured)

    one, six = queries_for(1), queries_for(6)
    # each offer with a budget takes it with one UPDATE, as campaigns do; nothing else grows
    assert six - one == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_purchases_use_a_single_use_offer_once(program, threads):
    store = factories.StoreFactory()
    member = factories.MemberFactory()
    make_offer(members=[member])

    results = threads(4, lambda i: buy(store, member, f"race-{i}"))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(sources(r).get("offer:deal", 0) for r in results) == 50
    assert OfferUse.objects.count() == 1
    assert ledger_violations() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_purchases_never_overspend_an_offer_budget(program, threads):
    store = factories.StoreFactory()
    members = factories.MemberFactory.create_batch(6)
    offer = make_offer(members=members, budget_points=130)

    results = threads(6, lambda i: buy(store, members[i], f"budget-{i}"))

    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(sources(r).get("offer:deal", 0) for r in results) == 130
    offer.refresh_from_db()
    assert offer.spent_points == 130
    assert ledger_violations() == []


def test_a_full_refund_gives_the_offer_use_back_and_a_partial_one_does_not(store, member):
    make_offer(members=[member])
    first = buy(store, member, "p1")
    assert sources(first)["offer:deal"] == 50

    refund_record(store=store, purchase_external_id="p1", external_id="r1", amount="40.00")
    assert "offer:deal" not in sources(buy(store, member, "p2"))  # a partial refund keeps the use

    refund_record(store=store, purchase_external_id="p1", external_id="r2", amount="60.00")
    again = buy(store, member, "p3")

    assert sources(again)["offer:deal"] == 50
    assert "offer:deal" not in sources(buy(store, member, "p4"))  # once more, then used up
    uses = list(
        OfferUse.objects.filter(member=member).order_by("sequence").values_list("sequence", "returned_at")
    )
    assert [sequence for sequence, _ in uses] == [1, 2] and uses[0][1] is not None and uses[1][1] is None
    assert ledger_violations() == []
