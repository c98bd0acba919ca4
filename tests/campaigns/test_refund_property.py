"""Refunds in any split: each reverses floor(awarded x refunded so far / amount) less what was
already reversed, and refunding everything reverses exactly what was awarded."""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaigns.inputs import PurchaseInput
from campaigns.models import Campaign
from campaigns.services import purchase_record, refund_record
from members.ledger.invariants import ledger_violations
from members.models import Member
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cents=st.integers(min_value=1, max_value=500_000),
    cuts=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=5),
    doubled=st.booleans(),
)
def test_refunds_in_any_split_reverse_exactly_what_was_awarded(program, cents, cuts, doubled):
    with transaction.atomic():
        store = factories.StoreFactory()
        member = factories.MemberFactory()
        if doubled:
            Campaign.objects.create(
                code="double",
                name="Double",
                kind=Campaign.Kind.MULTIPLIER,
                multiplier=Decimal("2"),
                starts_at=NOW - timedelta(days=1),
                ends_at=NOW + timedelta(days=1),
            )
        amount = Decimal(cents) / 100
        purchase = {
            "member": member.member_number,
            "external_id": "p",
            "amount": str(amount),
            "currency": "USD",
            "purchased_at": NOW - timedelta(hours=1),
        }
        awarded = purchase_record(store=store, purchase=PurchaseInput.parse(purchase)).purchase.points_awarded
        # Split the amount into refunds proportional to the cuts, the last taking the rest.
        total_cut = sum(cuts)
        parts = [Decimal(cents * c // total_cut) / 100 for c in cuts[:-1]]
        parts.append(amount - sum(parts))
        refunded = Decimal("0")
        reversed_total = 0
        for i, part in enumerate(p for p in parts if p > 0):
            refunded += part
            outcome = refund_record(
                store=store, purchase_external_id="p", external_id=f"r{i}", amount=str(part)
            )
            expected = math.floor(awarded * refunded / amount) - reversed_total
            assert outcome.refund.points_reversed == expected
            reversed_total += expected

        assert reversed_total == awarded
        member = Member.objects.get(pk=member.pk)
        assert member.points_total == 0
        assert ledger_violations() == []
        transaction.set_rollback(True)
