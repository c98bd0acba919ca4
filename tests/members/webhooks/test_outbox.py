"""The outbox: every event is written in the transaction of its change, and matched to the
endpoints that should hear it (a partner only about members related to it)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns.services import purchase_record, refund_record
from members.jobs import expire_points, tiers_recalculate
from members.models import Member, Tier
from members.services import member_enroll
from members.webhooks.models import WebhookDelivery, WebhookEvent
from members.webhooks.services import endpoint_create, events_dispatch_chunk
from rewards.services import redemption_cancel, reward_redeem, voucher_use
from tests import factories
from tests.rewards.support import fund, make_reward

pytestmark = pytest.mark.django_db


def buy(member: Member, store, external_id: str, amount: str = "100.00", **kwargs):
    return purchase_record(
        store=store,
        member_number=member.member_number,
        external_id=external_id,
        amount=Decimal(amount),
        currency="USD",
        purchased_at=kwargs.pop("purchased_at", timezone.now() - timedelta(minutes=1)),
        **kwargs,
    )


def events(type_: str | None = None) -> list[WebhookEvent]:
    found = WebhookEvent.objects.order_by("pk")
    return list(found.filter(type=type_) if type_ else found)


class Boom(Exception):
    pass


def test_a_purchase_writes_its_event_and_one_rolled_back_writes_none(member):
    store = factories.StoreFactory()
    # given a purchase whose transaction is rolled back after the purchase was recorded
    with pytest.raises(Boom), transaction.atomic():
        buy(member, store, "rolled-back")
        assert len(events("purchase.recorded")) == 1
        raise Boom
    # then no event is left
    assert events() == []

    # when a purchase commits
    outcome = buy(member, store, "kept")

    # then its event is there with what a CRM needs
    (event,) = events("purchase.recorded")
    assert (event.member_id, event.store_id) == (member.pk, store.pk)
    assert event.data["external_id"] == "kept"
    assert event.data["points_awarded"] == outcome.purchase.points_awarded == 100
    assert event.dispatched_at is None


def test_each_change_writes_its_event(program):
    store = factories.StoreFactory()
    # when a member is enrolled, buys, is refunded, redeems, cancels, redeems and uses a voucher
    member = member_enroll(email="ann@example.org", first_name="Ann", store=store)
    buy(member, store, "p1", amount="600.00")  # crosses silver: the tier changes at once
    refund_record(store=store, purchase_external_id="p1", external_id="r1", amount=Decimal("10.00"))
    fund(member, 1000, "fund")
    reward = make_reward("mug", points_cost=100)
    first = reward_redeem(member_id=member.pk, reward_code="mug", store=store, notify=False).redemption
    redemption_cancel(redemption_id=first.pk, store=store)
    second = reward_redeem(member_id=member.pk, reward_code=reward.code, store=store, notify=False).redemption
    voucher_use(code=second.voucher_code, store=store)

    # then each wrote one event, in order (the purchase's own row is written with the purchase,
    # so it comes before the tier change the purchase caused)
    assert [e.type for e in events()] == [
        "member.enrolled",
        "purchase.recorded",
        "tier.changed",
        "purchase.refunded",
        "redemption.created",
        "redemption.cancelled",
        "redemption.created",
        "voucher.used",
    ]
    assert events("tier.changed")[0].data["from_tier"] == "bronze"
    assert events("tier.changed")[0].data["to_tier"] == "silver"
    assert events("redemption.cancelled")[0].data["points_returned"] == 100
    assert all(e.member_id == member.pk for e in events())


def test_the_bulk_jobs_write_one_event_per_member_changed(program):
    now = timezone.now()
    members = factories.MemberFactory.create_batch(3)
    for i, member in enumerate(members[:2]):
        fund(member, 50 + i, f"old-{i}", expires_in_days=-1, now=now - timedelta(days=1))
    # a member whose tier hold has ended with no spend: the tier job moves them down
    gold = Tier.objects.get(code="gold")
    Member.objects.filter(pk=members[2].pk).update(tier=gold, tier_held_until=now - timedelta(days=1))

    expire_points(as_of=now)
    tiers_recalculate(as_of=now, notify=False)
    expire_points(as_of=now)  # again: nothing more expires, no more events

    expired = events("points.expired")
    assert sorted((e.member_id, e.data["points"]) for e in expired) == [
        (members[0].pk, 50),
        (members[1].pk, 51),
    ]
    assert expired[0].data["balance"] == 0
    (moved,) = events("tier.changed")
    assert (moved.member_id, moved.data["from_tier"], moved.data["to_tier"]) == (
        members[2].pk,
        "gold",
        "bronze",
    )
    assert moved.data["reason"] == "requalification"


def test_a_partner_endpoint_hears_only_about_members_related_to_it(program):
    own, partner, other_partner = (
        factories.StoreFactory(),
        factories.StoreFactory(is_partner=True),
        factories.StoreFactory(is_partner=True),
    )
    program_hook = endpoint_create(
        store=None, url="https://crm.example.com/hooks", events=["purchase.recorded"]
    )
    own_hook = endpoint_create(store=own, url="https://own.example.com/h", events=["purchase.recorded"])
    partner_hook = endpoint_create(
        store=partner, url="https://partner.example.com/h", events=["purchase.recorded", "member.enrolled"]
    )
    shopper, stranger = factories.MemberFactory(), factories.MemberFactory()
    enrolled_there = member_enroll(email="p@example.org", first_name="Pat", store=partner)
    # given purchases: one at the partner, one at the other partner, one at an own store
    buy(shopper, partner, "at-partner")
    buy(stranger, other_partner, "elsewhere")
    buy(shopper, own, "at-own")  # the shopper is related to the partner by their purchase there

    dispatched = events_dispatch_chunk()

    heard = {
        hook: sorted(
            (d.event.type, d.event.member_id)
            for d in WebhookDelivery.objects.filter(endpoint=hook).select_related("event")
        )
        for hook in (program_hook, own_hook, partner_hook)
    }
    assert dispatched.events == 4
    assert len(heard[program_hook]) == len(heard[own_hook]) == 3
    assert heard[partner_hook] == sorted(
        [
            ("member.enrolled", enrolled_there.pk),
            ("purchase.recorded", shopper.pk),
            ("purchase.recorded", shopper.pk),
        ]
    )
    # and dispatching again finds nothing new
    assert events_dispatch_chunk().events == 0
    assert WebhookDelivery.objects.count() == 9


def test_a_purchase_costs_one_insert_for_its_event(member, django_assert_num_queries):
    store = factories.StoreFactory()
    buy(member, store, "warm-up")
    from members.webhooks import event_record

    with transaction.atomic(), django_assert_num_queries(1):
        event_record(type="purchase.recorded", member_id=member.pk, store_id=store.pk, data={})
