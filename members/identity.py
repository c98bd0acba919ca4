"""Whether two members are the same person, as far as their contact details tell: used to
refuse self-referral. An address is compared by the mailbox it delivers to: case is ignored,
a ``+tag`` is dropped, and at Gmail (gmail.com, googlemail.com) dots in the name are too.
Phone numbers are compared by their digits."""

from __future__ import annotations

import re

DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def mailbox_key(email: str) -> str:
    """``Rita.Smith+alias@GoogleMail.com`` -> ``ritasmith@gmail.com``."""
    local, at, domain = (email or "").strip().lower().rpartition("@")
    if not at:
        return domain
    local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        domain = DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"


def phone_key(phone: str) -> str:
    return re.sub(r"\D", "", phone or "")


def same_person(*, email: str, phone: str, other_email: str, other_phone: str) -> bool:
    if mailbox_key(email) and mailbox_key(email) == mailbox_key(other_email):
        return True
    digits = phone_key(phone)
    return bool(digits) and digits == phone_key(other_phone)
