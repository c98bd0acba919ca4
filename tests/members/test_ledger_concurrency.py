"""Real concurrency on PostgreSQL: many threads, one member, the member row lock in between."""

import pytest

from members.errors import InsufficientPoints
from members.ledger.invariants import ledger_violations
from members.ledger.services import points_credit, points_debit, points_reverse
from members.models import LedgerEntry, Member, PointLot

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
Source = LedgerEntry.Source


def test_fifty_threads_debiting_one_member_never_overdraw(member, threads):
    for i in range(4):  # several lots, so debits split across them
        points_credit(member_id=member.pk, points=50, idempotency_key=f"seed-{i}", source_type=Source.SYSTEM)

    results = threads(
        50,
        lambda i: points_debit(
            member_id=member.pk, points=7, idempotency_key=f"debit-{i}", source_type=Source.REDEMPTION
        ),
    )

    succeeded = [r for r in results if not isinstance(r, Exception)]
    refused = [r for r in results if isinstance(r, InsufficientPoints)]
    assert len(succeeded) == 200 // 7 and len(refused) == 50 - 200 // 7
    member.refresh_from_db()
    assert member.points_available == 200 - 7 * len(succeeded) >= 0
    assert ledger_violations() == []


def test_ten_threads_with_one_key_credit_once(member, threads):
    results = threads(
        10,
        lambda i: points_credit(
            member_id=member.pk, points=25, idempotency_key="purchase:shop:A1", source_type=Source.PURCHASE
        ),
    )

    assert not [r for r in results if isinstance(r, Exception)]
    assert sum(1 for r in results if r.created) == 1
    assert len({r.entry.pk for r in results}) == 1
    assert LedgerEntry.objects.filter(member=member).count() == 1
    assert Member.objects.get(pk=member.pk).points_available == 25


def test_reversals_racing_debits_keep_the_ledger_whole(member, threads):
    points_credit(
        member_id=member.pk, points=300, idempotency_key="big", source_type=Source.PURCHASE, source_id="p-big"
    )

    def act(i: int):
        if i % 2:
            return points_debit(
                member_id=member.pk, points=40, idempotency_key=f"d-{i}", source_type=Source.REDEMPTION
            )
        return points_reverse(
            member_id=member.pk,
            points=20,
            source_type=Source.PURCHASE,
            source_id="p-big",
            idempotency_key=f"r-{i}",
        )

    results = threads(20, act)

    assert all(isinstance(r, Exception) is False or isinstance(r, InsufficientPoints) for r in results)
    assert ledger_violations() == []
    member.refresh_from_db()
    assert member.points_available + member.points_pending == sum(
        LedgerEntry.objects.filter(member=member).values_list("points", flat=True)
    )
    assert all(lot.remaining >= 0 for lot in PointLot.objects.filter(member=member))
