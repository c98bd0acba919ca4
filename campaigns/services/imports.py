"""Bulk purchase import: staff upload a CSV, a task records it in chunks through
``purchase_record`` (so a row already recorded is a replay, never a second credit), keeps the
progress on the import row and records every rejected row with its reason.

Columns: ``member`` (member number), ``external_id``, ``amount``, ``purchased_at`` (ISO 8601),
optional ``currency`` (the program's by default), ``sku`` and ``category`` (one line).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from members import config
from members.errors import InvalidRequest, LoyaltyError
from members.locks import lock_row
from members.models import Store, User

from ..inputs import PurchaseInput
from ..models import PurchaseImport, PurchaseImportError
from .purchases import purchase_record

REQUIRED_COLUMNS = ("member", "external_id", "amount", "purchased_at")
CHUNK_ROWS = 200


def _rows(content: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.lstrip("\ufeff"))))


def missing_columns(content: str) -> list[str]:
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    return [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]


def purchase_import_create(
    *, store: Store, content: str, file_name: str = "", created_by: User | None = None
) -> PurchaseImport:
    """Keep the uploaded CSV and queue its processing after commit."""
    from ..tasks import purchase_import_process_task

    if missing := missing_columns(content):
        raise InvalidRequest(f"The CSV lacks the column(s): {', '.join(missing)}.")
    with transaction.atomic():
        purchase_import = PurchaseImport.objects.create(
            store=store,
            content=content,
            file_name=file_name[:200],
            rows_total=len(_rows(content)),
            created_by=created_by,
        )
        transaction.on_commit(lambda: purchase_import_process_task.delay(purchase_import.pk))
    return purchase_import


def _record_row(store: Store, row: dict[str, str], currency: str, now: datetime) -> None:
    """A row becomes a request as the API would receive it: the same ``PurchaseInput``."""
    cell = {name: (value or "").strip() for name, value in row.items() if isinstance(name, str)}
    data = {
        "member": cell.get("member", ""),
        "external_id": cell.get("external_id", ""),
        "amount": cell.get("amount", ""),
        "currency": cell.get("currency") or currency,
        "purchased_at": cell.get("purchased_at", ""),
    }
    sku, category = cell.get("sku", ""), cell.get("category", "")
    if sku or category:
        data["lines"] = [{"sku": sku, "category": category, "amount": data["amount"]}]
    purchase_record(store=store, purchase=PurchaseInput.parse(data), now=now)


def _reason(error: LoyaltyError) -> str:
    if error.fields:
        details = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in error.fields.items())
        return f"{error.message} {details}"[:500]
    return error.message[:500]


def purchase_import_process_chunk(
    *, import_id: int, chunk_rows: int = CHUNK_ROWS, now: datetime | None = None
) -> bool:
    """Record the next ``chunk_rows`` rows; returns True while rows are left. Each row is its own
    transaction; the progress moves once the chunk is done, so a chunk cut short is redone and
    its rows replay."""
    now = now or timezone.now()
    purchase_import = PurchaseImport.objects.select_related("store").get(pk=import_id)
    if purchase_import.status == PurchaseImport.Status.DONE:
        return False
    currency = config.program().currency
    rows = _rows(purchase_import.content)
    start = purchase_import.rows_done
    chunk = rows[start : start + chunk_rows]
    accepted = rejected = 0
    for offset, row in enumerate(chunk):
        row_number = start + offset + 2  # the header is line 1
        try:
            _record_row(purchase_import.store, row, currency, now)
            accepted += 1
        except LoyaltyError as error:
            PurchaseImportError.objects.get_or_create(
                purchase_import=purchase_import,
                row_number=row_number,
                defaults={"external_id": (row.get("external_id") or "")[:100], "reason": _reason(error)},
            )
            rejected += 1
    done = start + len(chunk)
    finished = done >= len(rows)
    with transaction.atomic():
        locked = lock_row(PurchaseImport.objects.filter(pk=import_id))
        if locked.rows_done != start:  # another worker did this chunk meanwhile
            return locked.status != PurchaseImport.Status.DONE
        locked.rows_done = done
        locked.rows_accepted += accepted
        locked.rows_rejected += rejected
        locked.rows_total = len(rows)
        locked.status = PurchaseImport.Status.DONE if finished else PurchaseImport.Status.RUNNING
        locked.finished_at = now if finished else None
        locked.save()
    return not finished
