"""``PurchaseInput``: one grammar for a purchase, whether it comes through the API or in a CSV
row, and the digest that tells a replay from a conflict (unchanged, so purchases recorded
before keep answering their replays)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.inputs import PurchaseInput
from campaigns.models import PurchaseImport
from campaigns.services import purchase_import_process_chunk
from members.errors import InvalidRequest
from tests import factories
from tests.api.conftest import client_with_key

NOW = timezone.now().replace(microsecond=0)
WHEN = (NOW - timedelta(days=1)).isoformat()


def request(**change) -> dict:
    return {
        "member": "1000000001",
        "external_id": "T-1",
        "amount": "12.50",
        "currency": "usd",
        "purchased_at": "2026-03-01T14:30:00+01:00",
        **change,
    }


def test_a_purchase_parses_to_what_the_service_needs():
    parsed = PurchaseInput.parse(request(external_id=" T-1 ", lines=[{"sku": " A ", "amount": "12.50"}]))

    assert parsed.external_id == "T-1" and parsed.currency == "USD"
    assert parsed.amount == Decimal("12.50")
    assert parsed.purchased_at == datetime(2026, 3, 1, 13, 30, tzinfo=UTC)
    assert [(line.sku, line.quantity) for line in parsed.lines] == [("A", Decimal("1.000"))]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "1e2"}, "amount"),
        ({"amount": "010.00"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": 12.5}, "amount"),
        ({"amount": None}, "amount"),
        ({"member": 1000000001}, "member"),
        ({"member": "1" * 21}, "member"),
        ({"external_id": "   "}, "external_id"),
        ({"external_id": "a\x00b"}, "external_id"),
        ({"currency": "US"}, "currency"),
        ({"purchased_at": "yesterday"}, "purchased_at"),
        ({"lines": None}, "lines"),
        ({"lines": [{"sku": None, "amount": "12.50"}]}, "lines"),
        ({"lines": [{"quantity": "1e3", "amount": "12.50"}]}, "lines"),
        ({"lines": ["12.50"]}, "lines"),
    ],
)
def test_what_the_schema_refuses_is_refused(change, field):
    with pytest.raises(InvalidRequest) as refused:
        PurchaseInput.parse(request(**change))

    assert field in refused.value.fields


def test_every_wrong_field_is_named_at_once():
    with pytest.raises(InvalidRequest) as refused:
        PurchaseInput.parse({"amount": "x"})

    assert set(refused.value.fields) == {"member", "external_id", "amount", "currency", "purchased_at"}


def test_the_digest_is_the_one_replays_were_recorded_with():
    parsed = PurchaseInput.parse(request(lines=[{"sku": "A", "category": "c", "amount": "12.50"}]))
    recorded_before = {
        "member": "1000000001",
        "amount": "12.50",
        "currency": "USD",
        "purchased_at": "2026-03-01T13:30:00+00:00",
        "lines": [["12.50", "A", "c", "1.000"]],
    }

    expected = hashlib.sha256(json.dumps(recorded_before, sort_keys=True).encode()).hexdigest()
    assert parsed.digest == expected


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["1e2", "010.00", "12.345"])
def test_the_api_and_the_csv_import_refuse_the_same_amounts(program, amount):
    from members.api_keys import api_key_create

    store = factories.StoreFactory()
    member = factories.MemberFactory()
    till = client_with_key(api_key_create(store=store)[1])
    payload = request(member=member.member_number, amount=amount, currency="USD", purchased_at=WHEN)

    answer = till.post("/api/v1/purchases/", payload, format="json")
    upload = PurchaseImport.objects.create(
        store=store,
        content=f"member,external_id,amount,purchased_at\n{member.member_number},T-1,{amount},{WHEN}\n",
        rows_total=1,
    )
    purchase_import_process_chunk(import_id=upload.pk)

    assert answer.status_code == 400 and "amount" in answer.json()["error"]["fields"]
    upload.refresh_from_db()
    assert upload.rows_rejected == 1 and "amount" in upload.errors.get().reason
