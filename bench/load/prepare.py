"""Prepare the load run's database (already migrated and seeded with ``seed_demo``): a store
key, members to post purchases for, and a logged-in session of the demo member. Writes them to
the directory given as the first argument, for the wrk scripts to read."""

from __future__ import annotations

import sys
from pathlib import Path

import django


def main(out: Path) -> None:
    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from members.api_keys import api_key_create, store_get_or_create
    from members.demo import MEMBER_LOGIN
    from members.models import Member, User
    from members.services import member_enroll

    store = store_get_or_create(name="Load Test Till")
    _, raw_key = api_key_create(store=store, name="wrk")
    for i in range(500):
        member_enroll(email=f"shopper{i}@load.example", first_name="Shopper", store=store)
    numbers = Member.objects.filter(email__endswith="@load.example").values_list("member_number", flat=True)

    user = User.objects.get(email=MEMBER_LOGIN[0])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()

    out.mkdir(parents=True, exist_ok=True)
    (out / "api_key").write_text(raw_key)
    (out / "members").write_text("\n".join(numbers) + "\n")
    (out / "session").write_text(session.session_key)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
