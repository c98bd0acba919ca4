"""The member's card code: what a partner's till needs to spend a member's points.

The portal's card page (``/portal/card/``) shows a fresh code as a QR code and as text. It is a
stored one-time token rather than a signed one (an HMAC of the member and the time, like TOTP):

- it can be used once. ``card_token_use`` marks it used with one conditional ``UPDATE`` inside
  the redemption's transaction, after the member's row is locked, so of two tills sending the
  same code at once one redeems and the other is told the code is used; and a redemption
  refused for another reason (too few points) rolls the use back, so the member can try again;
- it is short enough to read out or type (10 characters of Crockford's base32, no I, L, O or
  U, in two groups: about 50 bits) yet cannot be guessed: each code is random and lives
  ``CARD_TOKEN_MINUTES``, and only a keyed digest is stored.

A signed code would need no table, but it could be replayed for as long as it is valid; making
it one-time needs a table of used codes anyway.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from .errors import InvalidMemberToken, MemberTokenRequired
from .models import Member, MemberCardToken, Store

CARD_TOKEN_MINUTES = 10
# Crockford's base32: digits and capitals without I, L, O and U. What is typed is read leniently
# (see ``normalise_card_code``), so 0/O and 1/I/L cannot be confused.
CARD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CARD_CODE_LENGTH = 10
CARD_CODE_GROUP = 5
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})


@dataclass(frozen=True)
class CardCode:
    code: str  # as shown: "K7M2Q-9XD4T"
    expires_at: datetime


def normalise_card_code(code: str) -> str:
    """What a cashier typed or a scanner read, in the form the digest is taken of: capitals,
    no spaces or dashes, O read as 0 and I or L as 1."""
    raw = "".join(ch for ch in (code or "").upper() if ch.isascii() and ch.isalnum())
    return raw.translate(_LOOKALIKES)


def _digest(code: str) -> str:
    return salted_hmac("members.card-token", normalise_card_code(code), algorithm="sha256").hexdigest()


@transaction.atomic
def card_token_issue(*, member: Member, now: datetime | None = None) -> CardCode:
    """A new code for ``member``'s card, valid ``CARD_TOKEN_MINUTES``. Codes shown earlier stay
    valid until they expire (a cashier may be typing one while the page refreshes); expired
    ones are deleted."""
    now = now or timezone.now()
    raw = "".join(secrets.choice(CARD_ALPHABET) for _ in range(CARD_CODE_LENGTH))
    expires_at = now + timedelta(minutes=CARD_TOKEN_MINUTES)
    MemberCardToken.objects.filter(member=member, expires_at__lte=now).delete()
    MemberCardToken.objects.create(member=member, digest=_digest(raw), created_at=now, expires_at=expires_at)
    shown = "-".join(raw[i : i + CARD_CODE_GROUP] for i in range(0, CARD_CODE_LENGTH, CARD_CODE_GROUP))
    return CardCode(code=shown, expires_at=expires_at)


def card_token_use(*, member: Member, code: str | None, store: Store, now: datetime | None = None) -> None:
    """Use ``code`` of ``member``'s card for ``store``: ``MemberTokenRequired`` without one,
    ``InvalidMemberToken`` when it is not a live, unused code of this member. Call it inside
    the transaction that spends the points, with the member's row locked: the use commits or
    rolls back with the spending."""
    if code is None or not code.strip():
        raise MemberTokenRequired()
    now = now or timezone.now()
    normalised = normalise_card_code(code)
    if len(normalised) != CARD_CODE_LENGTH:
        raise InvalidMemberToken()
    used = MemberCardToken.objects.filter(
        member=member, digest=_digest(normalised), used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now, used_store=store)
    if not used:
        raise InvalidMemberToken()
