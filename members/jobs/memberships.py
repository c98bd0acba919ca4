"""The nightly ``end_memberships`` job: paid memberships whose term is over end, or renew when
they renew automatically (``members.memberships`` holds the rest of the paid memberships)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection, transaction

from ..locks import lock_members_in
from ..models import Membership
from ..models_plans import add_months
from ..webhooks.events import events_record_sql, json_object_sql
from .base import Counts, ScratchTable, db_datetime


@dataclass(frozen=True)
class MembershipEndResult(Counts):
    ended: int = 0
    renewed: int = 0

    @property
    def rows_changed(self) -> int:
        return self.ended + self.renewed


def memberships_end_chunk(
    *, as_of: datetime, first_id: int, last_id: int, notify: bool = True, locked: bool = False, **_
) -> MembershipEndResult:
    """End the memberships of an id range whose term is over by ``as_of``: one that renews
    automatically is followed by its next term (a new row at the plan's price of now), the
    others are marked ended. Idempotent: a membership is picked only while still ``active``, and
    it stops being active in the transaction that renews it. The members' tiers follow with the
    tier job, which no longer finds the floor (the plan's hold ended with the membership)."""
    as_of_db = db_datetime(as_of)
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        ScratchTable(cursor, "job_membership_lapsed") as lapsed,
    ):
        select = (
            "SELECT ms.id, ms.member_id, "
            "CASE WHEN ms.auto_renew AND p.auto_renew AND p.is_active THEN 1 ELSE 0 END AS renews "
            "FROM members_membership ms JOIN members_membershipplan p ON p.id = ms.plan_id "
            "WHERE ms.member_id BETWEEN %s AND %s AND ms.status = 'active' AND ms.ends_at <= %s"
        )
        params = [first_id, last_id, as_of_db]
        if not lapsed.fill(select, params):
            return MembershipEndResult()
        if not locked:
            lock_members_in(f"SELECT member_id FROM {lapsed.name}")
            # Decide again under the locks: a sale or a cancellation may have committed meanwhile.
            if not lapsed.fill(select, params):
                return MembershipEndResult()
        cursor.execute(f"SELECT id FROM {lapsed.name} WHERE renews = 1")
        renewing = [row[0] for row in cursor.fetchall()]
        renewals = []
        for old in Membership.objects.filter(pk__in=renewing).select_related("plan"):
            # A term that ended long ago renews term after term up to as_of, in one row.
            ends_at = add_months(old.ends_at, old.plan.term_months)
            while ends_at <= as_of:
                ends_at = add_months(ends_at, old.plan.term_months)
            renewals.append(
                Membership(
                    member_id=old.member_id,
                    plan=old.plan,
                    store_id=old.store_id,
                    external_id=f"renewal:{old.pk}:{old.external_id}"[:100],
                    price=old.plan.price,
                    auto_renew=True,
                    starts_at=old.ends_at,
                    ends_at=ends_at,
                    renewed_from=old,
                    created_at=as_of,
                )
            )
        cursor.execute(
            "UPDATE members_membership SET ended_at = %s, "
            "status = CASE WHEN x.renews = 1 THEN 'renewed' ELSE 'ended' END "
            f"FROM {lapsed.name} x "
            "WHERE members_membership.id = x.id AND members_membership.status = 'active'",
            [as_of_db],
        )
        changed = cursor.rowcount
        Membership.objects.bulk_create(renewals)
        data = json_object_sql(
            {"membership_id": "ms.id", "plan": "p.code", "ends_at": "ms.ends_at", "reason": "'ended'"}
        )
        events_record_sql(
            cursor,
            type="membership.ended",
            rows_sql=f"SELECT x.member_id, ms.store_id, {data} AS data FROM {lapsed.name} x "
            "JOIN members_membership ms ON ms.id = x.id "
            "JOIN members_membershipplan p ON p.id = ms.plan_id WHERE x.renews = 0",
            params=[],
            created_at=as_of_db,
        )
    return MembershipEndResult(ended=changed - len(renewals), renewed=len(renewals))
