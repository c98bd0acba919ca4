"""Bulk purchase import (admin upload, chunked task, progress, rejected rows with reasons,
idempotent re-runs) and the demo's campaigns past, running and future."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, PurchaseImport
from campaigns.services import purchase_import_create, purchase_import_process_chunk
from members.ledger.invariants import ledger_violations
from members.models import LedgerEntry, Member, Purchase
from tests import factories

pytestmark = pytest.mark.django_db
NOW = timezone.now().replace(microsecond=0)


def csv_text(member, rows: int = 5, bad: bool = True) -> str:
    when = (NOW - timedelta(days=2)).isoformat()
    lines = ["member,external_id,amount,purchased_at,category"]
    lines += [f"{member.member_number},imp-{i},{10 + i}.00,{when},coffee" for i in range(rows)]
    if bad:
        lines += [
            f"0000000000,imp-x1,10.00,{when},",
            f"{member.member_number},imp-x2,-3,{when},",
            f"{member.member_number},imp-x3,12.00,not-a-date,",
        ]
    return "\n".join(lines) + "\n"


def test_staff_upload_a_csv_and_a_task_records_it_in_chunks(
    client, member, django_capture_on_commit_callbacks
):
    store = factories.StoreFactory()
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    upload = SimpleUploadedFile("march.csv", csv_text(member).encode(), content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:campaigns_purchaseimport_add"), {"store": store.pk, "file": upload}
        )

    assert response.status_code == 302
    purchase_import = PurchaseImport.objects.get()
    assert (purchase_import.status, purchase_import.rows_total, purchase_import.rows_done) == ("done", 8, 8)
    assert (purchase_import.rows_accepted, purchase_import.rows_rejected) == (5, 3)
    reasons = list(purchase_import.errors.values_list("row_number", "external_id", "reason"))
    assert [(r[0], r[1]) for r in reasons] == [(7, "imp-x1"), (8, "imp-x2"), (9, "imp-x3")]
    assert "No such member" in reasons[0][2] and "purchased_at" in reasons[2][2]
    assert Purchase.objects.filter(store=store).count() == 5
    assert LedgerEntry.objects.filter(member=member).count() == 5
    page = client.get(reverse("admin:campaigns_purchaseimport_change", args=[purchase_import.pk]))
    assert page.status_code == 200 and b"8/8" in page.content


def test_processing_moves_chunk_by_chunk_and_a_rerun_credits_nothing_twice(member):
    store = factories.StoreFactory()
    purchase_import = PurchaseImport.objects.create(
        store=store, content=csv_text(member, rows=5), rows_total=8
    )

    progress = []
    while purchase_import_process_chunk(import_id=purchase_import.pk, chunk_rows=3):
        purchase_import.refresh_from_db()
        progress.append(purchase_import.rows_done)
    purchase_import.refresh_from_db()
    progress.append(purchase_import.rows_done)

    assert progress == [3, 6, 8]
    # The same file again (a re-upload): every row is a replay, nothing is credited twice.
    again = PurchaseImport.objects.create(store=store, content=csv_text(member, rows=5), rows_total=8)
    while purchase_import_process_chunk(import_id=again.pk):
        pass
    again.refresh_from_db()
    assert (again.rows_accepted, again.rows_rejected) == (5, 3)
    assert Purchase.objects.count() == 5 and LedgerEntry.objects.count() == 5
    assert ledger_violations() == []


def test_a_csv_without_the_required_columns_is_refused(program):
    from members.errors import InvalidRequest

    with pytest.raises(InvalidRequest):
        purchase_import_create(store=factories.StoreFactory(), content="who,what\n1,2\n")
    assert not PurchaseImport.objects.exists()


def test_seed_demo_gives_campaigns_past_running_and_future_and_is_idempotent(db, capsys):
    call_command("seed_demo", "--force")
    first = (
        Campaign.objects.count(),
        Purchase.objects.count(),
        LedgerEntry.objects.count(),
    )
    call_command("seed_demo", "--force")
    out = capsys.readouterr().out

    assert (Campaign.objects.count(), Purchase.objects.count(), LedgerEntry.objects.count()) == first
    now = timezone.now()
    assert Campaign.objects.filter(ends_at__lte=now).exists()
    assert Campaign.objects.filter(starts_at__lte=now, ends_at__gt=now).exists()
    assert Campaign.objects.filter(starts_at__gt=now).exists()
    assert Purchase.objects.filter(member__email="member@example.com").count() >= 20
    assert Campaign.objects.get(code="spend-200-spring").settled_at is not None
    assert "past" in out and "running" in out and "future" in out
    assert ledger_violations() == []


def test_seed_demo_program_only_makes_no_campaigns(db):
    call_command("seed_demo", "--program-only")

    assert not Campaign.objects.exists() and not Purchase.objects.exists()


def test_seed_demo_spreads_a_year_of_history_over_every_month(db):
    # given a fresh demo
    call_command("seed_demo", "--force", stdout=StringIO())
    now = timezone.now()

    # then the demo member's ledger has entries in each of the last twelve months
    member = Member.objects.get(email="member@example.com")
    months = {
        (timezone.localtime(at).year, timezone.localtime(at).month)
        for at in LedgerEntry.objects.filter(member=member).values_list("created_at", flat=True)
    }
    expected = set()
    year, month = timezone.localtime(now).year, timezone.localtime(now).month
    for _ in range(12):
        expected.add((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    assert expected <= months
    # purchases and redemptions at their own dates, not all today
    assert Purchase.objects.filter(purchased_at__lt=now - timedelta(days=300)).exists()
    assert LedgerEntry.objects.filter(kind="redeem", created_at__lt=now - timedelta(days=60)).exists()
    assert member.tier.code in {"silver", "gold"}
    assert ledger_violations() == []
