"""The ``recompute_challenges`` job: progress, completions, streak milestones and milestone
badges computed again from history, one member-id range per transaction. What the purchase
path did live is left as it is (the same code decides, so it agrees); what it could not see (a
challenge added later, a purchase recorded before a challenge existed, a process whose cached
settings were stale) is caught up. Run twice, the second run finds nothing to do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from members.jobs import Counts
from members.locks import lock_members_in
from members.models import Member

from .config import engagement_config, engagement_config_clear
from .services import _MemberInfo, engagement_refresh

CANDIDATES = """
SELECT m.id FROM members_member m
WHERE m.id BETWEEN %s AND %s AND m.status <> 'closed' AND (
    EXISTS (SELECT 1 FROM members_purchase p WHERE p.member_id = m.id)
    OR EXISTS (SELECT 1 FROM campaigns_activity a WHERE a.member_id = m.id)
    OR EXISTS (SELECT 1 FROM campaigns_eventcheckin c WHERE c.member_id = m.id)
)"""


@dataclass(frozen=True)
class RecomputeResult(Counts):
    progress_rows: int = 0
    completions: int = 0
    undone: int = 0
    badges: int = 0
    points: int = 0


def challenges_recompute_chunk(*, as_of: datetime, first_id: int, last_id: int, **_) -> RecomputeResult:
    engagement_config_clear()  # a job reads the settings as they are now
    config = engagement_config()
    if config.empty:
        return RecomputeResult()
    with transaction.atomic():
        lock_members_in(CANDIDATES, [first_id, last_id])
        members = [
            _MemberInfo(pk, tier_id, enrolled_at, referred_by_id, number)
            for pk, tier_id, enrolled_at, referred_by_id, number in Member.objects.filter(
                pk__gte=first_id, pk__lte=last_id
            )
            .exclude(status=Member.Status.CLOSED)
            .filter(pk__in=_candidate_ids(first_id, last_id))
            .values_list("pk", "tier_id", "enrolled_at", "referred_by_id", "member_number")
            .order_by("pk")
        ]
        outcome = engagement_refresh(
            members=members,
            config=config,
            now=as_of,
            trigger=f"recompute:{int(as_of.timestamp())}",
            referrers_in_set=True,
        )
    return RecomputeResult(
        progress_rows=outcome.progress_rows,
        completions=len(outcome.completions),
        undone=len(outcome.undone),
        badges=len(outcome.badges),
        points=outcome.points,
    )


def _candidate_ids(first_id: int, last_id: int):
    from django.db.models.expressions import RawSQL

    return RawSQL(CANDIDATES, [first_id, last_id])
