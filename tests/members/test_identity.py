"""Self-referral is recognised through case, ``+tags``, Gmail's dots and phone formatting."""

from __future__ import annotations

import pytest

from members.identity import mailbox_key, same_person


@pytest.mark.parametrize(
    ("email", "key"),
    [
        ("Rita@Example.com", "rita@example.com"),
        ("rita+alias@example.com", "rita@example.com"),
        ("r.i.t.a+x+y@gmail.com", "rita@gmail.com"),
        ("R.Ita@GoogleMail.com", "rita@gmail.com"),
        ("ri.ta@example.com", "ri.ta@example.com"),  # dots matter outside Gmail
        ("no-at-sign", "no-at-sign"),
        ("", ""),
    ],
)
def test_mailbox_key(email, key):
    assert mailbox_key(email) == key


def test_same_person_by_mailbox_or_phone_digits():
    assert same_person(email="rita+a@example.com", phone="", other_email="RITA@example.com", other_phone="")
    assert same_person(email="a@x.org", phone="+1 555-0199", other_email="b@x.org", other_phone="+15550199")
    assert not same_person(email="a@x.org", phone="", other_email="b@x.org", other_phone="")
    assert not same_person(email="", phone="", other_email="", other_phone="")
