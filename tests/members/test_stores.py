"""Own stores and partners in the core: the one relation, the limits at their edges, the store
every ledger entry records (reversals and returns inherit it), card codes, and the admin."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from members.cards import CARD_TOKEN_MINUTES, card_token_issue, card_token_use
from members.errors import AmountOverLimit, InvalidMemberToken, MemberTokenRequired, PurchaseTooOld
from members.ledger.services import points_credit, points_debit, points_restore, points_reverse
from members.models import LedgerEntry, Member, MemberCardToken, Purchase, Store
from members.stores import (
    entries_for_store,
    members_for_store,
    personal_data_visible,
    purchase_check_limits,
    related_to_store,
)
from tests.factories import MemberFactory, StoreFactory, UserFactory

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture
def partner(db) -> Store:
    return StoreFactory(name="Corner Bakery", code="corner-bakery", is_partner=True)


def buy(member: Member, store: Store, external_id: str = "P-1") -> Purchase:
    return Purchase.objects.create(
        member=member,
        store=store,
        external_id=external_id,
        amount=Decimal("10.00"),
        currency="USD",
        purchased_at=NOW,
        available_at=NOW,
    )


def test_a_member_is_related_to_the_store_that_enrolled_them_or_sold_to_them(program, partner):
    enrolled = MemberFactory(enrolled_store=partner)
    bought = MemberFactory()
    buy(bought, partner)
    buy(MemberFactory(), StoreFactory())  # a purchase elsewhere relates nobody to the partner
    MemberFactory()

    related = set(Member.objects.filter(related_to_store(partner)).values_list("pk", flat=True))
    seen = {m.pk: m.personal_data_visible for m in members_for_store(partner)}

    assert related == {enrolled.pk, bought.pk}
    assert {pk for pk, visible in seen.items() if visible} == related
    assert all(members_for_store(StoreFactory()).values_list("personal_data_visible", flat=True))


def test_without_the_annotation_the_relation_is_one_query_or_none(
    program, partner, django_assert_num_queries
):
    stranger, enrolled = MemberFactory(), MemberFactory(enrolled_store=partner)

    with django_assert_num_queries(0):
        assert personal_data_visible(stranger, StoreFactory.build(is_partner=False))
        assert personal_data_visible(enrolled, partner)
    with django_assert_num_queries(1):
        assert not personal_data_visible(stranger, partner)


@pytest.mark.parametrize(
    ("is_partner", "amount", "hours_ago", "error"),
    [
        (True, "10000.00", 72, None),
        (True, "10000.01", 1, AmountOverLimit),
        (True, "5.00", 72.01, PurchaseTooOld),
        (False, "10000.01", 1, AmountOverLimit),
        (False, "5.00", 24 * 3000, None),
    ],
)
def test_purchase_limits_at_their_edges(db, is_partner, amount, hours_ago, error):
    store = StoreFactory(is_partner=is_partner)
    check = {"store": store, "amount": Decimal(amount), "purchased_at": NOW - timedelta(hours=hours_ago)}

    if error is None:
        purchase_check_limits(**check, now=NOW)
    else:
        with pytest.raises(error):
            purchase_check_limits(**check, now=NOW)


def test_reversals_and_returns_belong_to_the_store_of_what_they_reverse(member, partner):
    credit = dict(member_id=member.pk, source_type="purchase", source_id="1", store=partner, now=NOW)
    points_credit(points=100, idempotency_key="earn", **credit)
    points_reverse(member_id=member.pk, source_type="purchase", source_id="1", idempotency_key="r", points=30)
    points_debit(
        member_id=member.pk,
        points=50,
        idempotency_key="spend",
        source_type="redemption",
        source_id="9",
        store=partner,
    )
    points_restore(member_id=member.pk, source_type="redemption", source_id="9", idempotency_key="back")
    points_credit(member_id=member.pk, points=5, idempotency_key="bonus", source_type="system")

    entries = LedgerEntry.objects.filter(member=member).order_by("pk")

    assert [(e.points, e.store_id) for e in entries] == [
        (100, partner.pk),
        (-30, partner.pk),
        (-50, partner.pk),
        (50, partner.pk),
        (5, None),
    ]
    assert entries_for_store(member, partner).count() == 4
    assert entries_for_store(member, StoreFactory()).count() == 5  # an own store reads it all


def test_a_card_code_is_good_once_for_its_member_until_it_expires(member, partner):
    other = MemberFactory()
    code = card_token_issue(member=member, now=NOW).code

    with pytest.raises(MemberTokenRequired):
        card_token_use(member=member, code=None, store=partner, now=NOW)
    with pytest.raises(InvalidMemberToken):
        card_token_use(member=other, code=code, store=partner, now=NOW)
    with pytest.raises(InvalidMemberToken):
        card_token_use(
            member=member, code=code, store=partner, now=NOW + timedelta(minutes=CARD_TOKEN_MINUTES)
        )
    card_token_use(member=member, code=code, store=partner, now=NOW + timedelta(minutes=9))
    with pytest.raises(InvalidMemberToken):
        card_token_use(member=member, code=code, store=partner, now=NOW + timedelta(minutes=9))

    token = MemberCardToken.objects.get()
    assert code.replace("-", "") not in token.digest and len(token.digest) == 64
    assert (token.used_store, token.used_at) == (partner, NOW + timedelta(minutes=9))


def test_staff_make_a_store_a_partner_and_set_its_limits_in_admin(client, partner):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    own = StoreFactory(name="High Street", code="high-street")
    url = reverse("admin:members_store_change", args=[own.pk])

    page = client.get(url).content.decode()
    response = client.post(
        url,
        {
            "name": "High Street",
            "code": "high-street",
            "is_active": "on",
            "is_partner": "on",
            "max_purchase_amount": "2500.00",
            "max_backdate_hours": "24",
        },
    )

    assert "Trust and limits" in page and 'name="max_backdate_hours"' in page
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.is_partner, own.max_purchase_amount, own.max_backdate_hours) == (True, Decimal("2500.00"), 24)
    refused = client.post(url, {"name": "High Street", "code": "high-street", "max_purchase_amount": "0"})
    assert refused.status_code == 200 and "max_purchase_amount" in refused.content.decode()
