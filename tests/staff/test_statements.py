"""Partner statements: per store and month, what was issued and redeemed there, valued at the
point value; they add up to the ledger. The API shows a store its own; /staff/ shows all."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from campaigns.services import purchase_record, refund_record
from loyalty_site.staff.reports import partner_statements, statement_month, store_statement
from members.api_keys import api_key_create
from members.cards import card_token_issue
from members.models import LedgerEntry, Store
from rewards.services import redemption_cancel, reward_redeem
from tests import factories
from tests.api.conftest import client_with_key
from tests.rewards.support import fund, make_reward

pytestmark = pytest.mark.django_db


@pytest.fixture
def coalition(program):
    """An own store and a partner with a month of business: purchases, a refund, redemptions
    (one cancelled), a program bonus, and a purchase at the partner the month before."""
    now = timezone.now()
    own = factories.StoreFactory(name="Own shop")
    partner = factories.StoreFactory(name="Partner cafe", is_partner=True)
    ann, bob = factories.MemberFactory(), factories.MemberFactory()
    last_month = (now.replace(day=1) - timedelta(days=3)).replace(hour=12)

    def buy(member, store, external_id, amount, at=now):
        purchase_record(
            store=store,
            member_number=member.member_number,
            external_id=external_id,
            amount=Decimal(amount),
            currency="USD",
            purchased_at=at - timedelta(minutes=5),
            now=at,
        )

    buy(ann, partner, "old", "40.00", at=last_month)
    buy(ann, partner, "p1", "120.00")
    buy(bob, partner, "p2", "80.00")
    buy(bob, own, "o1", "300.00")
    refund_record(store=partner, purchase_external_id="p1", external_id="r1", amount=Decimal("60.00"))
    fund(ann, 2000, "program-bonus")  # no store: the program's
    make_reward("mug", points_cost=150)

    def at_partner():
        code = card_token_issue(member=ann).code
        return reward_redeem(
            member_id=ann.pk, reward_code="mug", store=partner, member_token=code, notify=False
        )

    kept = at_partner().redemption
    cancelled = at_partner().redemption
    redemption_cancel(redemption_id=cancelled.pk, store=partner)
    reward_redeem(member_id=ann.pk, reward_code="mug", store=own, notify=False)
    return {"own": own, "partner": partner, "now": now, "kept": kept, "last_month": last_month}


def test_a_partners_statement_counts_exactly_its_own_points(coalition):
    month = statement_month(f"{coalition['now']:%Y-%m}")

    statement = store_statement(store=coalition["partner"], month=month)

    # 120 + 80 earned there, 60 reversed by its refund; one 150 redemption kept
    assert (statement.points_issued, statement.points_redeemed) == (140, 150)
    assert (statement.value_issued, statement.value_redeemed) == (Decimal("1.40"), Decimal("1.50"))
    assert statement.net == Decimal("0.10")  # the program owes the partner 10 cents
    previous = store_statement(
        store=coalition["partner"], month=statement_month(f"{coalition['last_month']:%Y-%m}")
    )
    assert (previous.points_issued, previous.points_redeemed) == (40, 0)


def test_the_statements_of_a_month_add_up_to_the_ledger(coalition):
    now = coalition["now"]
    month = statement_month(f"{now:%Y-%m}")
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    statements = partner_statements(month=month)

    entries = LedgerEntry.objects.filter(created_at__gte=start)
    made_for_stores = entries.filter(store__isnull=False).aggregate(s=Sum("points"))["s"]
    assert sum(s.points_issued - s.points_redeemed for s in statements) == made_for_stores
    for statement in statements:
        own_entries = entries.filter(store_id=statement.store_id)
        assert statement.points_issued == sum(e.points for e in own_entries if e.source_type != "redemption")
        assert statement.points_redeemed == -sum(
            e.points for e in own_entries if e.source_type == "redemption"
        )
    program_own = entries.filter(store__isnull=True).aggregate(s=Sum("points"))["s"]
    assert made_for_stores + program_own == entries.aggregate(s=Sum("points"))["s"]
    assert [s.store_id for s in statements] == list(
        Store.objects.order_by("name").values_list("pk", flat=True)
    )


def test_the_api_shows_a_store_its_own_statement(coalition, django_assert_max_num_queries):
    _, raw_key = api_key_create(store=coalition["partner"])
    client = client_with_key(raw_key)

    with django_assert_max_num_queries(5):
        response = client.get(f"/api/v1/statements/{coalition['now']:%Y-%m}/")

    assert response.status_code == 200
    assert response.json() == {
        "month": f"{coalition['now']:%Y-%m}",
        "currency": "USD",
        "points_issued": 140,
        "points_redeemed": 150,
        "value_issued": "1.40",
        "value_redeemed": "1.50",
        "net": "0.10",
    }
    for bad in ("2024-13", "2024-1", "24-01", "0000-01", "2024-01-01", "latest"):
        answer = client.get(f"/api/v1/statements/{bad}/")
        assert answer.status_code == 400, bad
        assert answer.json()["error"]["code"] == "invalid"


def test_staff_see_every_stores_statement_with_csv(coalition, client, manager):
    client.force_login(manager)
    month = f"{coalition['now']:%Y-%m}"

    page = client.get(f"/staff/statements/?month={month}")
    assert page.status_code == 200
    assert "Partner cafe" in page.text and "Own shop" in page.text

    exported = client.get(f"/staff/statements/?month={month}&export=statements")
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[0][0] == "Store"
    assert ["Partner cafe", "140", "150", "1.40", "1.50", "0.10"] in rows
