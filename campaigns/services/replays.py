"""Requests a till may send again when an answer is lost: a purchase, a refund or an activity
is recorded once per key (the store and its external id), and the same request again gets the
first outcome; the same key with another payload is ``DuplicateExternalId``.

``record_once`` is that pattern, written once. In one transaction it locks the member (requests
for that member queue there), looks for the key once, and answers the replay or records. The
record's keyed insert is the last word: when a request for *another* member took the key while
this one was working, the insert says so (``KeyTaken``), everything this request wrote is
rolled back with its transaction (no savepoint), and the key is looked up again afresh.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError, models, transaction

from members.errors import NotFound

from ..errors import DuplicateExternalId

Locked = TypeVar("Locked")
Outcome = TypeVar("Outcome")
M = TypeVar("M", bound=models.Model)


class KeyTaken(Exception):
    """A record's keyed insert found its key taken by another transaction."""


def record_once(
    *,
    lock: Callable[[], Locked],
    replay: Callable[[Locked | None], Outcome | None],
    record: Callable[[Locked], Outcome],
) -> Outcome:
    """``lock()`` takes the member row (and may find the key with it); ``replay(locked)``
    answers the outcome recorded under the key, None when there is none, or raises
    ``DuplicateExternalId`` for another payload (``replay(None)`` looks the key up by itself);
    ``record(locked)`` writes and raises ``KeyTaken`` when its keyed insert meets the key."""
    try:
        with transaction.atomic():
            try:
                locked = lock()
            except NotFound:
                # The key may be in use with a member this payload does not name: a conflict.
                if (found := replay(None)) is not None:
                    return found
                raise
            if (found := replay(locked)) is not None:
                return found
            return record(locked)
    except KeyTaken:
        if (found := replay(None)) is not None:
            return found
        raise DuplicateExternalId() from None


def insert_keyed(row: M) -> M:
    """Insert ``row``, whose unique key is the request's: ``KeyTaken`` when a row holds the key
    already. No savepoint: ``record_once`` rolls the whole transaction back."""
    try:
        row.save(force_insert=True)
    except IntegrityError:
        raise KeyTaken() from None
    return row
