"""Prepare the load run's database (already migrated and seeded with ``seed_demo``): a store
key, members to post purchases for (with points to redeem), and a logged-in session of the demo
member. Writes them to the directory given as the first argument, for the wrk scripts to read.

Safe to run again on the same database: the members are enrolled once and topped up only when
their points run low; every run gets a new key and a new session."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import django

# Enough members that a run's purchases (tens of thousands) give each only a few: a member's
# year of purchases, which every purchase's tier check sums, stays what a shopper's would be.
LOAD_MEMBERS = 5000
# Enough for every redemption a run can make (voucher-5 costs 500 points).
GRANT_POINTS = 1_000_000


def main(out: Path) -> None:
    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from members.api_keys import api_key_create, store_get_or_create
    from members.demo import MEMBER_LOGIN
    from members.ledger.services import points_credit
    from members.models import LedgerEntry, Member, User
    from members.services import member_enroll

    store = store_get_or_create(name="Load Test Till")
    _, raw_key = api_key_create(store=store, name="wrk")
    known = set(Member.objects.filter(email__endswith="@load.example").values_list("email", flat=True))
    for i in range(LOAD_MEMBERS):
        email = f"shopper{i}@load.example"
        if email not in known:
            member_enroll(email=email, first_name="Shopper", store=store)
    members = Member.objects.filter(email__endswith="@load.example").order_by("pk")
    stamp = int(time.time())
    for member_id, available in members.filter(points_available__lt=GRANT_POINTS // 2).values_list(
        "pk", "points_available"
    ):
        points_credit(
            member_id=member_id,
            points=GRANT_POINTS - max(available, 0),
            kind=LedgerEntry.Kind.BONUS,
            idempotency_key=f"load:grant:{member_id}:{stamp}",
            source_type=LedgerEntry.Source.SYSTEM,
            description="Load run points",
        )
    numbers = members.values_list("member_number", flat=True)

    user = User.objects.get(email=MEMBER_LOGIN[0])
    session = import_module(settings.SESSION_ENGINE).SessionStore()
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
