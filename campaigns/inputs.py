"""What a purchase request says, parsed once: the API's serializer and the CSV import both
turn their input into a ``PurchaseInput`` here, with one grammar, and ``purchase_record`` takes
it. What the schema states is checked here; what depends on the program or the clock (the
currency, a date in the future) or spans fields (the lines adding up) is the service's.

The grammar is the API schema's: strings for text and amounts (an amount above zero with at
most 2 decimal places, no exponent, no leading zero), ISO 8601 for ``purchased_at`` (a time
without an offset is in the site's time zone), optional ``lines``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from members.errors import InvalidRequest

from .engine import LineInput

AMOUNT_PATTERN = r"^([1-9][0-9]{0,9}(\.[0-9]{1,2})?|0?\.(0[1-9]|[1-9][0-9]?))$"
AMOUNT_MESSAGE = "An amount above zero with at most 2 decimal places, as a string."
QUANTITY_PATTERN = r"^[0-9]{1,6}(\.[0-9]{1,3})?$"
QUANTITY_MESSAGE = "A quantity with at most 3 decimal places."
_AMOUNT = re.compile(AMOUNT_PATTERN)
_QUANTITY = re.compile(QUANTITY_PATTERN)
_NOT_BLANK = re.compile(r"^[^\x00]*[^\s\x00][^\x00]*$")  # as members.serializers.NOT_BLANK
QUANTITY_PLACES = Decimal("0.001")
REQUIRED = "This field is required."
MISSING = object()


def payload_digest(payload: dict[str, Any]) -> str:
    """What a request carried, as a digest: a replay under the same key with another digest is a
    conflict (purchases, refunds and activities all compare them)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class PurchaseInput:
    member: str  # the member number
    external_id: str
    amount: Decimal
    currency: str
    purchased_at: datetime
    lines: tuple[LineInput, ...] = ()  # empty: one line of the whole amount

    @classmethod
    def parse(cls, data: Any) -> PurchaseInput:
        """``data`` as the API receives it (a JSON object) or as a CSV row becomes one; every
        field that is wrong is named in one ``InvalidRequest``."""
        if not isinstance(data, Mapping):
            raise InvalidRequest(
                fields={"non_field_errors": ["Expected an object of the purchase's fields."]}
            )
        errors: dict[str, list[str]] = {}

        def field(name: str, parse, *args):
            try:
                return parse(data.get(name, MISSING), *args)
            except ValueError as problem:
                errors[name] = [str(problem)]
                return None

        member = field("member", _text, 20)
        external_id = field("external_id", _text, 100, True)
        amount = field("amount", _amount)
        currency = field("currency", _currency)
        purchased_at = field("purchased_at", _datetime)
        lines = field("lines", _lines) if "lines" in data else ()
        if errors:
            raise InvalidRequest(fields=errors)
        return cls(member, external_id.strip(), amount, currency, purchased_at, lines)

    def check_lines_add_up(self) -> None:
        """A rule across fields, which the schema cannot state: the service checks it, after
        the member (an unknown member is a 404 whatever the lines say)."""
        if self.lines and sum(line.amount for line in self.lines) != self.amount:
            raise InvalidRequest(
                "The lines must add up to the purchase amount.",
                fields={"lines": ["The line amounts must add up to the purchase amount."]},
            )

    @property
    def line_inputs(self) -> list[LineInput]:
        return list(self.lines) or [LineInput(amount=self.amount)]

    @property
    def digest(self) -> str:
        return payload_digest(
            {
                "member": self.member,
                "amount": str(self.amount),
                "currency": self.currency,
                "purchased_at": self.purchased_at.astimezone(UTC).isoformat(),
                "lines": [[str(li.amount), li.sku, li.category, str(li.quantity)] for li in self.lines],
            }
        )


def _present(value: Any) -> Any:
    if value is MISSING:
        raise ValueError(REQUIRED)
    if value is None:
        raise ValueError("This field may not be null.")
    return value


def _text(value: Any, max_length: int, not_blank: bool = False, *, blank_ok: bool = False) -> str:
    """A string without NUL characters, not empty (unless ``blank_ok``), and with something
    besides white space when ``not_blank``."""
    if not isinstance(_present(value), str):
        raise ValueError("Not a valid string.")
    if "\x00" in value:
        raise ValueError("Null characters are not allowed.")
    if len(value) > max_length:
        raise ValueError(f"Ensure this field has no more than {max_length} characters.")
    if not value and not blank_ok:
        raise ValueError("This field may not be blank.")
    if not_blank and not _NOT_BLANK.search(value):
        raise ValueError("Must not be blank.")
    return value


def _amount(value: Any) -> Decimal:
    if not isinstance(_present(value), str) or not _AMOUNT.match(value):
        raise ValueError(AMOUNT_MESSAGE)
    return Decimal(value).quantize(Decimal("0.01"))


def _currency(value: Any) -> str:
    value = _text(value, 3)
    if len(value) != 3:
        raise ValueError("A currency code of 3 letters.")
    return value.strip().upper()


def _datetime(value: Any) -> datetime:
    if isinstance(_present(value), str):
        try:
            value = parse_datetime(value)
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        raise ValueError("An ISO 8601 date and time, such as 2026-03-01T14:30:00Z.")
    try:
        if timezone.is_naive(value):
            return timezone.make_aware(value)
        return value.astimezone(timezone.get_current_timezone())
    except (OverflowError, ValueError):
        raise ValueError("Out of range.") from None


def _lines(value: Any) -> tuple[LineInput, ...]:
    if not isinstance(_present(value), list):
        raise ValueError("A list of lines.")
    lines = []
    for line in value:
        if not isinstance(line, Mapping):
            raise ValueError("Each line is an object: sku, category, quantity, amount.")
        quantity = line.get("quantity", "1")
        if not isinstance(_present(quantity), str) or not _QUANTITY.match(quantity):
            raise ValueError(QUANTITY_MESSAGE)
        lines.append(
            LineInput(
                amount=_amount(line.get("amount", MISSING)),
                sku=_text(line.get("sku", ""), 64, blank_ok=True).strip(),
                category=_text(line.get("category", ""), 64, blank_ok=True).strip(),
                quantity=Decimal(quantity).quantize(QUANTITY_PLACES),
            )
        )
    return tuple(lines)
