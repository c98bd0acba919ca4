"""Personalised offers on /staff/: per offer, targeted, took it, uses and points, and the
incremental spend against the segment's members who did not take it; the CSV; a fixed number
of queries whatever the number of offers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Offer, Segment, SegmentMember
from campaigns.offers import offer_activate
from campaigns.services.purchases import purchase_record
from loyalty_site.staff.offers import offer_rows
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


def make_offer(segment: Segment, code: str = "double") -> Offer:
    return Offer.objects.create(
        code=code,
        name=code.title(),
        kind=Offer.Kind.MULTIPLIER,
        multiplier=Decimal("2"),
        segment=segment,
        requires_activation=True,
        starts_at=NOW - timedelta(days=2),
        ends_at=NOW + timedelta(days=10),
    )


@pytest.fixture
def segment(program):
    segment = Segment.objects.create(code="all", name="Everyone")
    members = factories.MemberFactory.create_batch(4)
    SegmentMember.objects.bulk_create([SegmentMember(segment=segment, member=m) for m in members])
    return segment, members


def buy(store, member, external_id: str, amount: str) -> None:
    purchase_record(
        store=store,
        member_number=member.member_number,
        external_id=external_id,
        amount=Decimal(amount),
        currency="USD",
        purchased_at=NOW - timedelta(hours=1),
    )


def test_figures_of_an_offer(segment):
    segment, (a, b, c, d) = segment
    make_offer(segment)
    store = factories.StoreFactory()
    offer_activate(member=a, code="double", now=NOW - timedelta(days=1))
    offer_activate(member=b, code="double", now=NOW - timedelta(days=1))
    buy(store, a, "a1", "100.00")  # earns 100 more
    buy(store, c, "c1", "40.00")  # did not take it

    (row,) = offer_rows(as_of=timezone.now())

    assert (row.targeted, row.activated, row.used, row.points) == (4, 2, 1, 100)
    # Those who took it spent 100 / 2 each, the others 40 / 2: 2 x (50 - 20).
    assert row.incremental_spend == Decimal("60.00")


def test_the_dashboard_shows_the_offers_in_a_fixed_number_of_queries(
    client, manager, segment, django_assert_max_num_queries
):
    segment, _ = segment
    make_offer(segment)
    client.force_login(manager)
    with django_assert_max_num_queries(200) as one_offer:
        page = client.get(reverse("staff:dashboard"))
    assert "Personalised offers" in page.content.decode() and "Double (double)" in page.content.decode()

    for i in range(6):
        make_offer(segment, code=f"more-{i}")
    with django_assert_max_num_queries(len(one_offer.captured_queries)):
        client.get(reverse("staff:dashboard"))
    assert "more-5" in client.get(reverse("staff:dashboard") + "?export=offers").content.decode()
