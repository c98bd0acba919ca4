"""Points for what members do besides buying: sign-up, birthday, review, social share (staff
approve), event attendance. Each rule has a limit per member and period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import CharField, Exists, OuterRef, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from members.audit import audit_record
from members.errors import InvalidRequest, MemberInactive, MemberNotFound
from members.jobs import Counts, job_run
from members.jobs.base import ScratchTable
from members.jobs.credits import points_credit_listed
from members.ledger.services import Credit, Posting, points_credit, points_credit_locked
from members.locks import lock_member, lock_members_in, lock_row
from members.models import LedgerEntry, Member, Store, User

from ..engagement.services import engagement_progress
from ..errors import ActivityLimitReached, ActivityNotPending, DuplicateExternalId, UnknownActivity
from ..inputs import payload_digest
from ..models import ActionRule, Activity
from .replays import insert_keyed, record_once

Kind = LedgerEntry.Kind
Source = LedgerEntry.Source
# What a member or a store may report; sign-up, birthday and referrals are awarded by the system.
SUBMITTABLE = (
    ActionRule.Kind.REVIEW,
    ActionRule.Kind.SOCIAL_SHARE,
    ActionRule.Kind.EVENT_ATTENDANCE,
    ActionRule.Kind.COMMUNITY_POST,
)


@dataclass(frozen=True)
class ActivityOutcome:
    activity: Activity
    created: bool  # False on a replay

    @property
    def needs_approval(self) -> bool:
        return self.activity.status == Activity.Status.PENDING


def period_start(period: str, now: datetime) -> datetime | None:
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == ActionRule.Period.DAY:
        return day
    if period == ActionRule.Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period == ActionRule.Period.MONTH:
        return day.replace(day=1)
    if period == ActionRule.Period.YEAR:
        return day.replace(month=1, day=1)
    return None


def _check_limit(rule: ActionRule, member: Member, now: datetime) -> None:
    if rule.limit_count is None:
        return
    done = Activity.objects.filter(
        member=member, rule=rule, status__in=[Activity.Status.PENDING, Activity.Status.APPROVED]
    )
    if start := period_start(rule.limit_period, now):
        done = done.filter(created_at__gte=start)
    if done.count() >= rule.limit_count:
        raise ActivityLimitReached()


def _credit(activity: Activity, rule: ActionRule, now: datetime) -> Posting:
    return points_credit(
        member_id=activity.member_id,
        points=rule.points,
        kind=Kind.BONUS,
        idempotency_key=f"activity:{activity.pk}",
        source_type=Source.ACTIVITY,
        source_id=str(activity.pk),
        description=rule.name,
        store=activity.store,
        now=now,
    )


def activity_submit(
    *,
    member: Member | str,
    kind: str,
    external_id: str,
    store: Store | None = None,
    url: str = "",
    now: datetime | None = None,
) -> ActivityOutcome:
    """A member's review, social share or event attendance, reported by a store (``store``) or
    by the member in the portal (no store). Awards the rule's points at once, or waits for
    staff when the rule needs approval. The same ``external_id`` again is a replay."""
    now = now or timezone.now()
    external_id = (external_id or "").strip()
    if not external_id or len(external_id) > 100:
        raise InvalidRequest(fields={"external_id": ["Required, at most 100 characters."]})
    url = (url or "").strip()
    if len(url) > 500:
        raise InvalidRequest(fields={"url": ["At most 500 characters."]})
    if kind not in SUBMITTABLE:
        raise UnknownActivity(fields={"type": [f"One of {', '.join(SUBMITTABLE)}."]})
    member_number = member.member_number if isinstance(member, Member) else str(member)
    key = f"{store.pk if store else 'portal'}:{external_id}"
    digest = payload_digest({"member": member_number, "type": kind, "url": url})

    def lock() -> Member:
        member_id = Member.objects.filter(member_number=member_number).values_list("pk", flat=True).first()
        if member_id is None:
            raise MemberNotFound()
        return lock_member(member_id)

    def replay(_locked: Member | None) -> ActivityOutcome | None:
        existing = Activity.objects.filter(key=key).first()
        if existing is None:
            return None
        if existing.payload_digest != digest:
            raise DuplicateExternalId()
        return ActivityOutcome(existing, created=False)

    def record(locked: Member) -> ActivityOutcome:
        if locked.status != Member.Status.ACTIVE:
            raise MemberInactive()
        if kind == ActionRule.Kind.SOCIAL_SHARE and not url.startswith(("http://", "https://")):
            raise InvalidRequest(fields={"url": ["A social share needs the link (http or https)."]})
        rule = ActionRule.objects.filter(kind=kind, is_active=True).first()
        if rule is None:
            raise UnknownActivity(fields={"type": ["No active rule for this activity."]})
        _check_limit(rule, locked, now)
        activity = insert_keyed(
            Activity(
                member=locked,
                rule=rule,
                store=store,
                key=key,
                external_id=external_id,
                url=url,
                payload_digest=digest,
                status=Activity.Status.PENDING if rule.requires_approval else Activity.Status.APPROVED,
                points_awarded=0 if rule.requires_approval else rule.points,
                created_at=now,
            )
        )
        if not rule.requires_approval and rule.points:
            points_credit_locked(
                member=locked,
                credits=[Credit(rule.points, f"activity:{activity.pk}", Kind.BONUS, rule.name)],
                source_type=Source.ACTIVITY,
                source_id=str(activity.pk),
                store=store,
                now=now,
            )
        if not rule.requires_approval:
            engagement_progress(member=locked, trigger=f"activity:{activity.pk}", now=now)
        return ActivityOutcome(activity, created=True)

    return record_once(lock=lock, replay=replay, record=record)


def activity_approve(*, activity_id: int, staff_user: User, now: datetime | None = None) -> Activity:
    """Staff approve a pending activity (a social share, say): the member gets the points."""
    now = now or timezone.now()
    with transaction.atomic():
        activity = Activity.objects.select_related("rule").get(pk=activity_id)
        member = lock_member(activity.member_id)
        activity = _lock_activity(activity_id)
        if activity.status != Activity.Status.PENDING:
            raise ActivityNotPending()
        activity.status = Activity.Status.APPROVED
        activity.points_awarded = activity.rule.points
        activity.reviewed_by = staff_user
        activity.reviewed_at = now
        activity.save(update_fields=["status", "points_awarded", "reviewed_by", "reviewed_at"])
        if activity.rule.points:
            _credit(activity, activity.rule, now)
        engagement_progress(member=member, trigger=f"activity:{activity.pk}", now=now)
        audit_record(
            actor=staff_user,
            action="activity_approved",
            member_id=activity.member_id,
            details={"activity": activity.pk, "kind": activity.rule.kind, "points": activity.points_awarded},
        )
        return activity


def _lock_activity(activity_id: int) -> Activity:
    activity = lock_row(Activity.objects.select_related("rule").filter(pk=activity_id))
    if activity is None:
        raise Activity.DoesNotExist()
    return activity


def activity_reject(*, activity_id: int, staff_user: User, now: datetime | None = None) -> Activity:
    now = now or timezone.now()
    with transaction.atomic():
        activity = _lock_activity(activity_id)
        if activity.status != Activity.Status.PENDING:
            raise ActivityNotPending()
        activity.status = Activity.Status.REJECTED
        activity.reviewed_by = staff_user
        activity.reviewed_at = now
        activity.save(update_fields=["status", "reviewed_by", "reviewed_at"])
        audit_record(
            actor=staff_user,
            action="activity_rejected",
            member_id=activity.member_id,
            details={"activity": activity.pk, "kind": activity.rule.kind},
        )
        return activity


def signup_bonus_award(*, member_id: int, now: datetime | None = None) -> Posting | None:
    """The sign-up rule's points, once per member ever."""
    rule = ActionRule.objects.filter(kind=ActionRule.Kind.SIGNUP, is_active=True).first()
    if rule is None or not rule.points:
        return None
    try:
        return points_credit(
            member_id=member_id,
            points=rule.points,
            kind=Kind.BONUS,
            idempotency_key=f"signup:{member_id}",
            source_type=Source.ACTIVITY,
            source_id="signup",
            description=rule.name,
            now=now,
        )
    except (MemberNotFound, MemberInactive):
        return None


# A birthday pays only when the date was on file this long before it: a member cannot set
# today's date to collect the bonus today.
BIRTH_DATE_NOTICE = timedelta(days=30)


@dataclass(frozen=True)
class BirthdayResult(Counts):
    members: int = 0
    points: int = 0


def birthday_bonuses_award(
    *, on: date | None = None, as_of: datetime | None = None, chunk_size: int | None = None
) -> BirthdayResult:
    """Pay today's birthday bonuses: the ``birthday_bonuses`` job, run inline chunk after chunk.
    ``on`` pays another day's birthdays (as of the start of that day)."""
    as_of = as_of or timezone.now()
    if on is not None and on != timezone.localtime(as_of).date():
        as_of = timezone.make_aware(datetime.combine(on, time.min))
    return job_run(name="birthday_bonuses", as_of=as_of, chunk_size=chunk_size)[1]


def birthday_bonuses_chunk(*, as_of: datetime, first_id: int, last_id: int, **_) -> BirthdayResult:
    """The birthday rule's points to every active member of one id range whose birthday is the
    day of ``as_of`` (29 February birthdays count on 28 February in other years), once per
    member and year (the key ``birthday:<member>:<year>``). Set-based: the members due are
    found in one query, locked in id order, found again under the locks and credited in a few
    statements."""
    rule = ActionRule.objects.filter(kind=ActionRule.Kind.BIRTHDAY, is_active=True).first()
    if rule is None or not rule.points:
        return BirthdayResult()
    on = timezone.localtime(as_of).date()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        ScratchTable(cursor, "birthday_members") as candidates,
        ScratchTable(cursor, "birthday_due") as due,
    ):
        sql, params = _birthdays_due(on, as_of, first_id=first_id, last_id=last_id).query.sql_with_params()
        if not candidates.fill(f"SELECT d.pk AS member_id FROM ({sql}) d", list(params)):
            return BirthdayResult()
        lock_members_in(f"SELECT member_id FROM {candidates.name}")
        locked = _birthdays_due(on, as_of, first_id=first_id, last_id=last_id).filter(
            pk__in=RawSQL(f"SELECT member_id FROM {candidates.name}", [])
        )
        sql, params = locked.query.sql_with_params()
        if not due.fill(
            "SELECT d.pk AS member_id, CAST(%s AS BIGINT) AS points, d.bonus_key AS idempotency_key "
            f"FROM ({sql}) d",
            [rule.points, *params],
        ):
            return BirthdayResult()
        members, points = points_credit_listed(
            table=due.name,
            kind=Kind.BONUS,
            source_type=Source.ACTIVITY,
            source_id="birthday",
            description=rule.name,
            now=as_of,
        )
    return BirthdayResult(members=members, points=points)


def _birthdays_due(on: date, as_of: datetime, *, first_id: int, last_id: int) -> QuerySet:
    """Active members of the range born on the day of ``on``, whose birth date was on file
    ``BIRTH_DATE_NOTICE`` before ``as_of``, not yet paid this year, with the key their bonus is
    paid under."""
    due = Member.objects.filter(
        pk__gte=first_id,
        pk__lte=last_id,
        status=Member.Status.ACTIVE,
        birth_date__month=on.month,
        birth_date_set_at__lte=as_of - BIRTH_DATE_NOTICE,
    )
    leap_day_too = on.month == 2 and on.day == 28 and not _is_leap(on.year)
    due = due.filter(birth_date__day__in=[28, 29]) if leap_day_too else due.filter(birth_date__day=on.day)
    return (
        due.annotate(
            bonus_key=Concat(
                Value("birthday:"), Cast("pk", CharField()), Value(f":{on.year}"), output_field=CharField()
            )
        )
        .exclude(Exists(LedgerEntry.objects.filter(idempotency_key=OuterRef("bonus_key"))))
        .values("pk", "bonus_key")
        .order_by()
    )


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
