"""Writes of engagement. ``engagement_progress`` is the one call the purchase, refund, activity
and check-in services make, inside their transaction and with the member already locked: it
moves challenge progress, pays completions, streak milestones and badges, and undoes a
completion a refund took away while its points were still pending. It costs a fixed number
of queries whatever the number of challenges (none at all while the program has no challenge,
milestone badge or streak milestone), and the ``recompute_challenges`` job runs the very same
code over a chunk of members (``engagement_refresh``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone

from members.audit import audit_record
from members.errors import MemberNotFound
from members.ledger.services import points_credit, points_reverse
from members.locks import lock_member
from members.models import LedgerEntry, Member, Purchase, PurchaseLine, User
from members.webhooks.events import event_record

from ..models import Activity, Referral
from .config import EngagementConfig, engagement_config
from .models import (
    Badge,
    ChallengeCompletion,
    ChallengeProgress,
    EventCheckIn,
    MemberBadge,
    StreakReward,
)
from .progress import ACTIVITY, CHECK_IN, PURCHASE, Fact, challenge_scan, streak_from_days
from .signals import badge_earned, challenge_completed

Source = LedgerEntry.Source
PURCHASE_GOALS = frozenset({"purchases", "spend", "stores", "categories"})
# Which challenge goals each kind of trigger can move.
GOALS_MOVED_BY = {
    "purchase": PURCHASE_GOALS,
    "refund": PURCHASE_GOALS,
    "activity": frozenset({"activities"}),
    "check-in": frozenset({"check_ins"}),
}


@dataclass
class EngagementOutcome:
    completions: list[ChallengeCompletion] = field(default_factory=list)
    undone: list[int] = field(default_factory=list)  # completion ids reversed
    badges: list[MemberBadge] = field(default_factory=list)
    points: int = 0
    progress_rows: int = 0


@dataclass(frozen=True)
class _MemberInfo:
    pk: int
    tier_id: int | None
    enrolled_at: datetime
    referred_by_id: int | None
    member_number: str = ""


def engagement_progress(
    *,
    member: Member,
    trigger: str,
    now: datetime,
    purchase: Purchase | None = None,
) -> EngagementOutcome:
    """Move ``member``'s engagement after ``trigger`` (``purchase:<id>``, ``refund:<id>``,
    ``activity:<id>``, ``check-in:<id>``). Runs inside the caller's transaction, after the
    caller locked the member (and, on a first purchase, the referrer)."""
    config = engagement_config()
    if config.empty:
        return EngagementOutcome()
    goals = GOALS_MOVED_BY.get(trigger.split(":", 1)[0])
    if not purchase and not any(c.rule.goal in (goals or ()) for c in config.challenges):
        return EngagementOutcome()  # nothing this trigger can move (milestones move on purchases)
    info = _MemberInfo(
        member.pk, member.tier_id, member.enrolled_at, member.referred_by_id, member.member_number
    )
    return engagement_refresh(
        members=[info],
        config=config,
        now=now,
        trigger=trigger,
        purchase_trigger=purchase is not None,
        goals=goals,
    )


def engagement_refresh(
    *,
    members: list[_MemberInfo],
    config: EngagementConfig,
    now: datetime,
    trigger: str,
    purchase_trigger: bool = False,
    referrers_in_set: bool = False,
    goals: frozenset[str] | None = None,
) -> EngagementOutcome:
    """Bring the engagement of ``members`` (locked by the caller) in line with their history.
    Every step is one query for the whole set. ``goals``: only challenges of these goals can
    have moved (None: all)."""
    outcome = EngagementOutcome()
    if not members:
        return outcome
    member_ids = [m.pk for m in members]
    # (member, challenge config) pairs that can still change
    pairs = [
        (m, c)
        for m in members
        for c in config.challenges
        if c.applies_to(m.tier_id) and (goals is None or c.rule.goal in goals)
    ]
    rows: dict[tuple[int, int], ChallengeProgress] = {}
    if pairs:
        rows = {
            (row.member_id, row.challenge_id): row
            for row in ChallengeProgress.objects.filter(
                member_id__in=member_ids, challenge_id__in={c.rule.id for _, c in pairs}
            )
        }
        pairs = [(m, c) for m, c in pairs if not _settled(rows.get((m.pk, c.rule.id)), c, now)]

    facts: dict[int, list[Fact]] = defaultdict(list)
    if pairs:
        goals = {c.rule.goal for _, c in pairs}
        since = min(c.rule.starts_at for _, c in pairs)
        facts = _facts(member_ids, since=since, goals=goals)

    new_rows: list[ChallengeProgress] = []
    to_create: list[tuple[_MemberInfo, object, Fact]] = []
    to_undo: dict[tuple[int, int], int] = {}
    for member, challenge in pairs:
        state = challenge_scan(challenge.rule, facts.get(member.pk, []))
        row = rows.get((member.pk, challenge.rule.id))
        live = row.completions if row else 0
        found = len(state.completions)
        for fact in state.completions[live:]:
            to_create.append((member, challenge, fact))
        if found < live:
            to_undo[(member.pk, challenge.rule.id)] = live - found
        progress = state.progress
        if row is None:
            row = ChallengeProgress(
                member_id=member.pk, challenge_id=challenge.rule.id, progress=0, completions=0
            )
        changed = row.progress != progress or found > live
        row.progress = progress
        if found > live:
            last = state.completions[-1]
            row.completions = found
            row.completed_at = last.at
            row.settled_until = _available_at(last)
        if to_undo.get((member.pk, challenge.rule.id)):
            changed = True  # completions and dates are set once the undo is known
        if changed:
            row.updated_at = now
            new_rows.append(row)

    if to_undo:
        _undo(
            to_undo,
            {(r.member_id, r.challenge_id): r for r in new_rows},
            now=now,
            trigger=trigger,
            outcome=outcome,
        )

    # Badges and points of the new completions, streak milestones and milestone badges
    credits: dict[tuple[int, datetime], int] = defaultdict(int)
    completions = [
        ChallengeCompletion(
            member_id=member.pk,
            challenge_id=challenge.rule.id,
            sequence=(
                rows[(member.pk, challenge.rule.id)].completions
                if (member.pk, challenge.rule.id) in rows
                else 0
            )
            + index
            + 1,
            completed_at=fact.at,
            purchase_id=fact.ref if fact.kind == PURCHASE else None,
            points=challenge.reward_points,
            available_at=max(_available_at(fact), now),
            created_at=now,
        )
        for index, (member, challenge, fact) in enumerate(to_create)
    ]
    groups: dict[tuple[int, datetime], str] = {}
    for completion in completions:
        if completion.points:
            group = (completion.member_id, completion.available_at)
            groups.setdefault(group, _source_id(trigger, completion.member_id, len(groups)))
            completion.ledger_source_id = groups[group]
            credits[group] += completion.points

    badge_candidates: dict[tuple[int, int], tuple[str, ChallengeCompletion | None]] = {}
    streak_rewards = _streaks(members, config, now=now) if purchase_trigger or referrers_in_set else []
    for reward, badge_id in streak_rewards:
        if reward.points:
            group = (reward.member_id, reward._available_at)
            groups.setdefault(group, _source_id(trigger, reward.member_id, len(groups)))
            credits[group] += reward.points
        if badge_id:
            badge_candidates.setdefault((reward.member_id, badge_id), (MemberBadge.Source.MILESTONE, None))
    for member_id, badge_id in _milestones(
        members, config, now=now, purchase_trigger=purchase_trigger, referrers_in_set=referrers_in_set
    ):
        badge_candidates.setdefault((member_id, badge_id), (MemberBadge.Source.MILESTONE, None))

    if completions:
        ChallengeCompletion.objects.bulk_create(completions)
        outcome.completions = completions
        for completion, (member, challenge, _) in zip(completions, to_create, strict=True):
            # webhook-ready: the outbox row is written with the completion, in its transaction
            event_record(
                type="challenge.completed",
                member_id=member.pk,
                data={
                    "member": member.member_number,
                    "challenge": challenge.code,
                    "name": challenge.name,
                    "points": completion.points,
                    "completed_at": completion.completed_at.isoformat(),
                    "points_available_at": completion.available_at.isoformat(),
                },
                now=now,
            )
            if challenge.reward_badge_id:
                badge_candidates.setdefault(
                    (completion.member_id, challenge.reward_badge_id),
                    (MemberBadge.Source.CHALLENGE, completion),
                )
    if streak_rewards:
        StreakReward.objects.bulk_create([reward for reward, _ in streak_rewards])
    if new_rows:
        ChallengeProgress.objects.bulk_create(
            new_rows,
            update_conflicts=True,
            unique_fields=["member", "challenge"],
            update_fields=["progress", "completions", "completed_at", "settled_until", "updated_at"],
        )
        outcome.progress_rows = len(new_rows)
    for (member_id, available_at), points in sorted(credits.items(), key=lambda item: groups[item[0]]):
        source_id = groups[(member_id, available_at)]
        points_credit(
            member_id=member_id,
            points=points,
            kind=LedgerEntry.Kind.BONUS,
            idempotency_key=source_id,
            source_type=Source.CAMPAIGN,
            source_id=source_id,
            description="Challenges and streaks",
            available_at=available_at,
            now=now,
        )
        outcome.points += points

    if badge_candidates:
        held = set(
            MemberBadge.objects.filter(
                member_id__in={m for m, _ in badge_candidates}, badge_id__in={b for _, b in badge_candidates}
            ).values_list("member_id", "badge_id")
        )
        earned = [
            MemberBadge(
                member_id=member_id,
                badge_id=badge_id,
                source=source,
                completion=completion,
                earned_at=now,
            )
            for (member_id, badge_id), (source, completion) in badge_candidates.items()
            if (member_id, badge_id) not in held
        ]
        outcome.badges = MemberBadge.objects.bulk_create(earned)

    _announce(outcome)
    return outcome


def _settled(row: ChallengeProgress | None, challenge, now: datetime) -> bool:
    """A once-only challenge completed for good (past its completion's return window) cannot
    move any more."""
    return bool(
        row
        and not challenge.rule.repeatable
        and row.completions
        and row.settled_until is not None
        and row.settled_until <= now
    )


def _available_at(fact: Fact) -> datetime:
    return fact.available_at or fact.at


def _source_id(trigger: str, member_id: int, index: int) -> str:
    return f"engagement:{trigger}:{member_id}:{index}"[:64]


def _facts(member_ids: list[int], *, since: datetime, goals: set[str]) -> dict[int, list[Fact]]:
    facts: dict[int, list[Fact]] = defaultdict(list)
    if goals & {"purchases", "spend", "stores", "categories"}:
        categories: dict[int, set[str]] = defaultdict(set)
        if "categories" in goals:
            for purchase_id, category in (
                PurchaseLine.objects.filter(
                    purchase__member_id__in=member_ids,
                    purchase__purchased_at__gte=since,
                    purchase__refunded_amount__lt=F("purchase__amount"),
                )
                .exclude(category="")
                .values_list("purchase_id", "category")
            ):
                categories[purchase_id].add(category.lower())
        for pk, member_id, at, amount, refunded, store_id, available_at in Purchase.objects.filter(
            member_id__in=member_ids, purchased_at__gte=since, refunded_amount__lt=F("amount")
        ).values_list(
            "pk", "member_id", "purchased_at", "amount", "refunded_amount", "store_id", "available_at"
        ):
            facts[member_id].append(
                Fact(
                    at=at,
                    kind=PURCHASE,
                    ref=pk,
                    amount=amount - refunded,
                    store_id=store_id,
                    categories=frozenset(categories.get(pk, ())),
                    available_at=available_at,
                )
            )
    if "activities" in goals:
        for pk, member_id, at, kind in Activity.objects.filter(
            member_id__in=member_ids, status=Activity.Status.APPROVED, created_at__gte=since
        ).values_list("pk", "member_id", "created_at", "rule__kind"):
            facts[member_id].append(Fact(at=at, kind=ACTIVITY, ref=pk, activity_kind=kind))
    if "check_ins" in goals:
        for pk, member_id, at in EventCheckIn.objects.filter(
            member_id__in=member_ids, created_at__gte=since
        ).values_list("pk", "member_id", "created_at"):
            facts[member_id].append(Fact(at=at, kind=CHECK_IN, ref=pk))
    return facts


def _undo(
    to_undo: dict[tuple[int, int], int],
    rows: dict[tuple[int, int], ChallengeProgress],
    *,
    now: datetime,
    trigger: str,
    outcome: EngagementOutcome,
) -> None:
    """Reverse the newest live completions a refund took away, those still in their return
    window; one reversal per ledger source (one entry may have paid several completions)."""
    live = ChallengeCompletion.objects.filter(
        member_id__in={m for m, _ in to_undo},
        challenge_id__in={c for _, c in to_undo},
        reversed_at__isnull=True,
    ).order_by("-sequence", "-pk")
    by_pair: dict[tuple[int, int], list[ChallengeCompletion]] = defaultdict(list)
    for completion in live:
        by_pair[(completion.member_id, completion.challenge_id)].append(completion)
    undone: list[ChallengeCompletion] = []
    for pair, count in to_undo.items():
        candidates = by_pair.get(pair, [])
        reversible = [c for c in candidates if c.available_at > now][:count]
        undone.extend(reversible)
        kept = [c for c in candidates if c not in reversible]
        row = rows[pair]
        row.completions = len(kept)
        row.completed_at = kept[0].completed_at if kept else None
        row.settled_until = kept[0].available_at if kept else None
    if not undone:
        return
    ids = [c.pk for c in undone]
    ChallengeCompletion.objects.filter(pk__in=ids).update(reversed_at=now)
    MemberBadge.objects.filter(completion_id__in=ids).delete()
    reverse: dict[tuple[int, str], int] = defaultdict(int)
    for completion in undone:
        if completion.points and completion.ledger_source_id:
            reverse[(completion.member_id, completion.ledger_source_id)] += completion.points
    for (member_id, source_id), points in sorted(reverse.items()):
        points_reverse(
            member_id=member_id,
            source_type=Source.CAMPAIGN,
            source_id=source_id,
            idempotency_key=f"engagement-undo:{trigger}:{source_id}",
            points=points,
            description="Challenge undone by a refund",
            now=now,
        )
        outcome.points -= points
    outcome.undone = ids


def _streaks(members: list[_MemberInfo], config: EngagementConfig, *, now: datetime) -> list:
    """Streak milestones reached and not yet paid for the current streak."""
    if not config.streak_milestones:
        return []
    days: dict[int, list] = defaultdict(list)
    last_purchase: dict[int, tuple[datetime, int, datetime]] = {}
    for member_id, pk, at, available_at in Purchase.objects.filter(
        member_id__in=[m.pk for m in members], refunded_amount__lt=F("amount")
    ).values_list("member_id", "pk", "purchased_at", "available_at"):
        days[member_id].append(timezone.localtime(at).date())
        if member_id not in last_purchase or at > last_purchase[member_id][0]:
            last_purchase[member_id] = (at, pk, available_at)
    today = timezone.localtime(now).date()
    due = []
    for member_id, member_days in days.items():
        streak = streak_from_days(member_days, today=today)
        for milestone in config.streak_milestones:
            if streak.current_weeks >= milestone.weeks and streak.current_start is not None:
                _, purchase_pk, available_at = last_purchase[member_id]
                reward = StreakReward(
                    member_id=member_id,
                    milestone_id=milestone.id,
                    streak_start=streak.current_start,
                    purchase_id=purchase_pk,
                    points=milestone.points,
                    created_at=now,
                )
                reward._available_at = max(available_at, now)  # pending like the purchase
                due.append((reward, milestone.badge_id))
    if not due:
        return []
    paid = set(
        StreakReward.objects.filter(
            member_id__in={r.member_id for r, _ in due}, streak_start__in={r.streak_start for r, _ in due}
        ).values_list("member_id", "milestone_id", "streak_start")
    )
    return [(r, b) for r, b in due if (r.member_id, r.milestone_id, r.streak_start) not in paid]


def _milestones(
    members: list[_MemberInfo],
    config: EngagementConfig,
    *,
    now: datetime,
    purchase_trigger: bool,
    referrers_in_set: bool,
) -> list[tuple[int, int]]:
    """Milestone badges the members (or, on a first purchase, their referrer) have reached."""
    if not config.milestone_badges:
        return []
    kinds = {b.milestone for b in config.milestone_badges}
    member_ids = [m.pk for m in members]
    earned: list[tuple[int, int]] = []
    counts: dict[int, int] = {}
    if "nth_purchase" in kinds and (purchase_trigger or referrers_in_set):
        counts = dict(
            Purchase.objects.filter(member_id__in=member_ids, refunded_amount__lt=F("amount"))
            .values("member_id")
            .annotate(n=Count("pk"))
            .values_list("member_id", "n")
        )
    referrers: set[int] = set()
    if "first_referral" in kinds:
        if referrers_in_set:
            referrers = set(
                Referral.objects.filter(
                    referrer_id__in=member_ids, status=Referral.Status.REWARDED
                ).values_list("referrer_id", flat=True)
            )
        elif purchase_trigger and any(m.referred_by_id for m in members):
            referrers = set(
                Referral.objects.filter(
                    referred_id__in=member_ids, status=Referral.Status.REWARDED
                ).values_list("referrer_id", flat=True)
            )
    for badge in config.milestone_badges:
        if badge.milestone == "first_referral":
            earned.extend((referrer, badge.id) for referrer in referrers)
            continue
        earned.extend(
            (member.pk, badge.id) for member in members if _reached(badge, member, counts, config, now)
        )
    return earned


def _reached(
    badge, member: _MemberInfo, counts: dict[int, int], config: EngagementConfig, now: datetime
) -> bool:
    if badge.milestone == "nth_purchase":
        return counts.get(member.pk, 0) >= badge.count
    if badge.milestone == "years_member":
        return (now - member.enrolled_at).days // 365 >= badge.count
    if badge.milestone == "tier_reached":
        rank = config.tier_ranks.get(member.tier_id, -1) if member.tier_id else -1
        return badge.tier_rank is not None and rank >= badge.tier_rank
    return False


def _announce(outcome: EngagementOutcome) -> None:
    """Signals inside the transaction (an outbox may record them with the change), mail after
    the commit."""
    for completion in outcome.completions:
        challenge_completed.send(sender=ChallengeCompletion, completion=completion)
    for member_badge in outcome.badges:
        badge_earned.send(sender=MemberBadge, member_badge=member_badge)
    completion_ids = [c.pk for c in outcome.completions]
    badge_ids = [b.pk for b in outcome.badges if b.pk]
    if completion_ids or badge_ids:
        from .tasks import engagement_notify_task

        # robust: a broker that is down must not fail the purchase that has already committed
        def notify() -> None:
            engagement_notify_task.delay(completion_ids, badge_ids)

        transaction.on_commit(notify, robust=True)


# --- staff ------------------------------------------------------------------------------------


def badge_give(*, member_id: int, badge: Badge, staff_user: User, now: datetime | None = None) -> MemberBadge:
    """Staff give a badge by hand (once per member)."""
    now = now or timezone.now()
    with transaction.atomic():
        lock_member(member_id)
        held = MemberBadge.objects.filter(member_id=member_id, badge=badge).first()
        if held:
            return held
        given = MemberBadge.objects.create(
            member_id=member_id,
            badge=badge,
            source=MemberBadge.Source.STAFF,
            given_by=staff_user,
            earned_at=now,
        )
        audit_record(
            actor=staff_user,
            action="badge_given",
            member_id=member_id,
            details={"badge": badge.code},
        )
        _announce(EngagementOutcome(badges=[given]))
        return given


def member_by_number(member_number: str) -> Member:
    member = Member.objects.filter(member_number=str(member_number)).first()
    if member is None:
        raise MemberNotFound()
    return member
