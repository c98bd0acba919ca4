"""A member's rights over their data (GDPR, Swiss FADP): consents recorded with time and source,
a download of everything the program keeps about them, and erasure.

Erasure keeps the member row, the ledger and the purchases (the program's figures and the
ledger's invariants need them) and makes them anonymous: the personal fields are replaced,
the member number and referral code are new (a till holding the old number gets 404), the
login and its email addresses are deleted, personal values in audit details are replaced,
and whatever points are left are forfeited as one ledger entry.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from .audit import audit_record
from .ledger.services import points_forfeit
from .locks import lock_member
from .models import AuditEvent, Consent, LedgerEntry, Member, Purchase, User, new_referral_code
from .signals import member_erasing
from .webhooks.models import WebhookEvent

ERASED = "[erased]"
# Keys of audit details whose values are personal data wherever they appear.
PERSONAL_KEYS = {"email", "from", "to", "first_name", "last_name", "phone", "birth_date", "name"}


# --- consents --------------------------------------------------------------------------------


def consent_record(
    *, member: Member, kind: str, granted: bool, source: str, now: datetime | None = None
) -> Consent | None:
    """Record the member's answer for ``kind`` when it differs from the last one recorded (the
    first answer is recorded only when it grants). Called inside the caller's transaction."""
    last = member.consents.filter(kind=kind).order_by("-at", "-id").values_list("granted", flat=True).first()
    if last == granted or (last is None and not granted):
        return None
    return Consent.objects.create(
        member=member, kind=kind, granted=granted, source=source[:80], at=now or timezone.now()
    )


# --- export ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportTable:
    """One CSV file of the export: a header and its rows (one query)."""

    name: str
    header: list[str]
    rows: list[list[Any]]


ExportSection = Callable[[Member], ExportTable]
_sections: dict[str, ExportSection] = {}


def export_section_register(name: str, section: ExportSection) -> None:
    """Another app adds a table of what it keeps about a member (rewards: vouchers)."""
    _sections[name] = section


def _ledger(member: Member) -> ExportTable:
    rows = LedgerEntry.objects.filter(member=member).order_by("created_at", "id")
    fields = ["created_at", "kind", "points", "balance_after", "source_type", "description"]
    return ExportTable("ledger", fields, [list(row) for row in rows.values_list(*fields)])


def _purchases(member: Member) -> ExportTable:
    rows = Purchase.objects.filter(member=member).order_by("purchased_at", "id")
    fields = [
        "external_id",
        "store__name",
        "purchased_at",
        "amount",
        "currency",
        "points_awarded",
        "refunded_amount",
        "points_reversed",
    ]
    header = [field.replace("store__name", "store") for field in fields]
    return ExportTable("purchases", header, [list(row) for row in rows.values_list(*fields)])


def _consents(member: Member) -> ExportTable:
    rows = Consent.objects.filter(member=member).order_by("at", "id")
    fields = ["kind", "granted", "at", "source"]
    return ExportTable("consents", fields, [list(row) for row in rows.values_list(*fields)])


def _profile(member: Member) -> dict[str, Any]:
    return {
        "member_number": member.member_number,
        "email": member.email,
        "first_name": member.first_name,
        "last_name": member.last_name,
        "phone": member.phone,
        "birth_date": member.birth_date,
        "language": member.language,
        "status": member.status,
        "enrolled_at": member.enrolled_at,
        "tier": member.tier.name if member.tier_id else None,
        "points_available": member.points_available,
        "points_pending": member.points_pending,
        "referral_code": member.referral_code,
        "marketing_opt_in": member.marketing_opt_in,
        "reminder_opt_in": member.reminder_opt_in,
        "leaderboard_opt_in": member.leaderboard_opt_in,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def member_export(*, member: Member, now: datetime | None = None) -> bytes:
    """A zip of everything kept about ``member``: ``member.json`` with it all, and one CSV per
    table. One query per table, whatever the length of the history."""
    now = now or timezone.now()
    tables = [_ledger(member), _purchases(member), _consents(member)]
    tables += [section(member) for _, section in sorted(_sections.items())]
    document = {
        "exported_at": now,
        "profile": _profile(member),
        **{table.name: [dict(zip(table.header, row, strict=True)) for row in table.rows] for table in tables},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("member.json", json.dumps(document, default=_plain, indent=2, ensure_ascii=False))
        archive.writestr("profile.csv", _csv(list(_profile(member)), [list(_profile(member).values())]))
        for table in tables:
            archive.writestr(f"{table.name}.csv", _csv(table.header, table.rows))
    return buffer.getvalue()


def _csv(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if value is None else _plain(value) for value in row])
    return out.getvalue()


# --- erasure ---------------------------------------------------------------------------------


def _scrub(value: Any, personal: list[str]) -> Any:
    """``value`` (audit details) with every personal value replaced."""
    if isinstance(value, dict):
        return {
            key: ERASED if key in PERSONAL_KEYS and item not in (None, "", []) else _scrub(item, personal)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_scrub(item, personal) for item in value]
    if isinstance(value, str):
        lowered = value.lower()
        for text in personal:
            if text in lowered:
                return ERASED
    return value


def _personal_values(member: Member, user: User | None) -> list[str]:
    values = {member.email, member.first_name, member.last_name, member.phone}
    if member.birth_date:
        values.add(member.birth_date.isoformat())
    if user is not None:
        values |= {user.email, user.first_name, user.last_name}
        values |= set(EmailAddress.objects.filter(user=user).values_list("email", flat=True))
    # Names shorter than three letters would match inside any word.
    return sorted({value.strip().lower() for value in values if value and len(value.strip()) >= 3})


@transaction.atomic
def member_erase(*, member_id: int, actor: User | None, reason: str, now: datetime | None = None) -> Member:
    """Erase a member's personal data (see the module's docstring). ``actor`` is the staff user
    who erased them, or None when the member closed their own account. Erasing twice changes
    nothing the second time."""
    now = now or timezone.now()
    member = lock_member(member_id)
    if member.status == Member.Status.ERASED:
        return member
    user = member.user
    personal = _personal_values(member, user)
    emails = [value for value in personal if "@" in value]

    forfeit = points_forfeit(
        member_id=member.pk,
        idempotency_key=f"erase:{member.pk}",
        description="Points forfeited: the account was closed",
        now=now,
    )
    member.refresh_from_db()

    # Audit rows about the member, and any other that names one of their addresses.
    mentions = Q(member=member)
    for email in emails:
        mentions |= Q(details_text__icontains=email)
    events = list(AuditEvent.objects.annotate(details_text=Cast("details", TextField())).filter(mentions))
    for event in events:
        event.details = _scrub(event.details, personal)
    AuditEvent.objects.bulk_update(events, ["details"])
    # The webhook outbox keeps what it sent (an enrolment carries the address and names).
    sent = list(WebhookEvent.objects.filter(member=member))
    for event in sent:
        event.data = _scrub(event.data, personal)
    WebhookEvent.objects.bulk_update(sent, ["data"])

    member_erasing.send(sender=Member, member_id=member.pk)

    member.email = f"erased-{member.pk}@erased.invalid"
    member.first_name = "Erased"
    member.last_name = ""
    member.phone = ""
    member.birth_date = None
    member.member_number = f"E{secrets.randbelow(9 * 10**9) + 10**9}"
    member.referral_code = new_referral_code()
    member.marketing_opt_in = member.reminder_opt_in = member.leaderboard_opt_in = False
    member.status = Member.Status.ERASED
    member.erased_at = now
    member.user = None
    member.save()
    for kind in Consent.Kind.values:
        consent_record(member=member, kind=kind, granted=False, source="erasure", now=now)

    # Admin history names the member and its login in its text.
    member_type = ContentType.objects.get_for_model(Member)
    LogEntry.objects.filter(content_type=member_type, object_id=str(member.pk)).update(
        object_repr=str(member)[:200], change_message=""
    )
    if user is not None:
        user_type = ContentType.objects.get_for_model(User)
        LogEntry.objects.filter(content_type=user_type, object_id=str(user.pk)).update(
            object_repr=ERASED, change_message=""
        )
        # Ledger rows keep who posted them; the member's own login goes (points stay as they are).
        LedgerEntry.objects.filter(created_by=user).update(created_by=None)
        EmailAddress.objects.filter(user=user).delete()
        user.delete()

    audit_record(
        actor=actor,
        action="member.erase",
        member_id=member.pk,
        details={
            "by": "staff" if actor is not None else "member",
            "reason": _scrub(reason.strip()[:500], personal),
            "points_forfeited": -forfeit.entry.points if forfeit else 0,
        },
    )
    return member
