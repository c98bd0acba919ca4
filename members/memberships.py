"""Paid memberships: a store sells a member a plan, the plan's benefits run while the membership
lasts, and the nightly ``end_memberships`` job ends (or renews) the lapsed ones.

What a plan gives, and where each benefit is applied:

- a tier floor: the tier job (``members.jobs.tiers``) targets at least the plan's minimum tier
  while a membership runs and holds that tier only until the membership ends. Starting a
  membership runs the tier job's own chunk for that one member, so the floor applies at once;
  cancelling does the same, so the member is back on the tier their value reaches at once, with
  no hold of the plan's tier. A membership that simply runs out is settled by the next tier job.
- an earn multiplier: the earning engine multiplies the tier's multiplier by it for a purchase
  made while a membership runs (``campaigns.engine``; ``membership_annotations`` reads it with
  the member, in the same query);
- a monthly voucher and member-only rewards: the ``rewards`` app (``rewards.plans``).

A membership's benefits hold while ``starts_at <= t < ends_at``: a cancellation moves
``ends_at`` to the moment of cancelling, so every reader asks only that question, whatever the
status says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .audit import audit_record
from .errors import Conflict, InvalidRequest, MemberInactive, MemberNotFound, NotFound
from .jobs.memberships import memberships_end_chunk
from .jobs.tiers import tiers_recalculate_chunk
from .locks import lock_member, lock_row
from .models import Member, Membership, MembershipPlan, Store, Tier, User
from .models_plans import add_months
from .webhooks.events import event_record

Status = Membership.Status


class PlanNotFound(NotFound):
    default_message = _("No such plan.")


class MembershipNotFound(NotFound):
    default_message = _("No such membership.")


class MembershipActive(Conflict):
    code = "membership_active"
    default_message = _("The member already has an active membership of that plan.")


class MembershipNotActive(Conflict):
    code = "membership_not_active"
    default_message = _("The membership has already ended.")


class MembershipExternalIdConflict(Conflict):
    code = "duplicate_external_id"
    default_message = _("That external id was already used for another membership.")


@dataclass(frozen=True)
class MembershipOutcome:
    membership: Membership
    created: bool  # False on a replay of the same request


def running_memberships(at: datetime) -> QuerySet[Membership]:
    """Memberships whose benefits hold at ``at`` (in SQL: ``models_plans.membership_running_sql``)."""
    return Membership.objects.filter(starts_at__lte=at, ends_at__gt=at)


def membership_annotations(*, at: datetime, member_ref: str = "pk") -> dict[str, Subquery]:
    """Annotations for a member query: the running membership's plan code and end
    (``membership_plan``, ``membership_ends_at``) and the highest earn multiplier of the
    member's running plans (``membership_multiplier``, NULL without one). Subqueries of the same
    statement, so reading a member with them costs no extra query."""
    running = running_memberships(at).filter(member=OuterRef(member_ref))
    latest = running.order_by("-ends_at", "-id")
    return {
        "membership_plan": Subquery(latest.values("plan__code")[:1]),
        "membership_ends_at": Subquery(latest.values("ends_at")[:1]),
        "membership_multiplier": Subquery(
            running.order_by("-plan__earn_multiplier").values("plan__earn_multiplier")[:1]
        ),
    }


def member_membership(member: Member, *, at: datetime | None = None) -> dict | None:
    """The member answer's ``membership``: ``{plan, ends_at}`` of the running membership, or
    None. Uses the annotations when the member was read with them, else one query."""
    if hasattr(member, "membership_plan"):
        code, ends_at = member.membership_plan, member.membership_ends_at
    else:
        row = (
            running_memberships(at or timezone.now())
            .filter(member=member)
            .order_by("-ends_at", "-id")
            .values_list("plan__code", "ends_at")
            .first()
        )
        code, ends_at = row if row else (None, None)
    if code is None:
        return None
    return {"plan": code, "ends_at": ends_at}


def _check_external_id(external_id: object) -> str:
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id.strip()) > 100:
        raise InvalidRequest(fields={"external_id": ["Required, at most 100 characters."]})
    return external_id.strip()


def _replay(
    store: Store | None, external_id: str, *, member_number: str, plan_code: str
) -> Membership | None:
    existing = (
        Membership.objects.filter(store=store, external_id=external_id)
        .select_related("plan", "member")
        .first()
    )
    if existing is None:
        return None
    if existing.member.member_number != member_number or existing.plan.code != plan_code:
        raise MembershipExternalIdConflict()
    return existing


def _event_data(membership: Membership, plan_code: str) -> dict:
    return {
        "membership_id": membership.pk,
        "plan": plan_code,
        "starts_at": membership.starts_at.isoformat(),
        "ends_at": membership.ends_at.isoformat(),
    }


def _tiers_apply(member_id: int, now: datetime) -> None:
    """The tier job's decision for one member, now (the floor of a membership that just started,
    or the return of one that just ended)."""
    tiers_recalculate_chunk(as_of=now, first_id=member_id, last_id=member_id)


def membership_start(
    *,
    store: Store | None,
    member_number: str,
    plan_code: str,
    external_id: str,
    now: datetime | None = None,
) -> MembershipOutcome:
    """Start a membership of plan ``plan_code`` that ``store`` sold (its fee paid at the store).

    Idempotent by the store's ``external_id``: the same request again is the first outcome; the
    same id for another member or plan is ``MembershipExternalIdConflict``. A running membership
    of the same plan is ``MembershipActive``. The plan's tier floor applies at once."""
    now = now or timezone.now()
    external_id = _check_external_id(external_id)
    if (
        not isinstance(member_number, str)
        or not member_number
        or len(member_number) > 20
        or "\x00" in member_number
    ):
        raise MemberNotFound()
    if not isinstance(plan_code, str) or len(plan_code) > 30:
        raise PlanNotFound()
    if replay := _replay(store, external_id, member_number=member_number, plan_code=plan_code):
        return MembershipOutcome(replay, created=False)
    plan = MembershipPlan.objects.filter(code=plan_code, is_active=True).select_related("min_tier").first()
    if plan is None:
        raise PlanNotFound()
    member_id = Member.objects.filter(member_number=member_number).values_list("pk", flat=True).first()
    if member_id is None:
        raise MemberNotFound()
    with transaction.atomic():
        member = lock_member(member_id)
        # Concurrent sales of the same id queue on the member lock: the first has committed.
        if replay := _replay(store, external_id, member_number=member_number, plan_code=plan_code):
            return MembershipOutcome(replay, created=False)
        if member.status != Member.Status.ACTIVE:
            raise MemberInactive()
        # A lapsed membership the nightly job has not ended yet no longer counts as active.
        _end_lapsed(member_id=member.pk, as_of=now)
        if Membership.objects.filter(member=member, plan=plan, status=Status.ACTIVE).exists():
            raise MembershipActive()
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    member=member,
                    plan=plan,
                    store=store,
                    external_id=external_id,
                    price=plan.price,
                    auto_renew=plan.auto_renew,
                    starts_at=now,
                    ends_at=add_months(now, plan.term_months),
                    created_at=now,
                )
        except IntegrityError:
            # The same external id for another member, committed while we waited.
            if replay := _replay(store, external_id, member_number=member_number, plan_code=plan_code):
                return MembershipOutcome(replay, created=False)
            raise MembershipExternalIdConflict() from None
        event_record(
            type="membership.started",
            member_id=member.pk,
            store_id=store.pk if store else None,
            data=_event_data(membership, plan.code),
            now=now,
        )
        current_rank = Tier.objects.filter(pk=member.tier_id).values_list("rank", flat=True).first()
        if plan.min_tier_id and (current_rank is None or current_rank < plan.min_tier.rank):
            # Up to the floor at once; anything else the tier job would do waits for the night.
            _tiers_apply(member.pk, now)
        return MembershipOutcome(membership, created=True)


def membership_cancel(
    *, membership_id: object, store: Store | None, now: datetime | None = None
) -> Membership:
    """Cancel a membership ``store`` sold: its benefits end now, and the member goes back to the
    tier their value reaches at once. Cancelling again answers the cancelled membership; one
    that has already ended is ``MembershipNotActive``. Another store's is not found."""
    if not isinstance(membership_id, int) or isinstance(membership_id, bool) or not 0 < membership_id < 2**63:
        raise MembershipNotFound()
    found = (
        Membership.objects.filter(pk=membership_id, store=store).values_list("member_id", flat=True).first()
    )
    if found is None:
        raise MembershipNotFound()
    return _cancel(membership_id=membership_id, member_id=found, now=now or timezone.now())


def membership_cancel_by_staff(
    *, membership_id: int, actor: User, reason: str, now: datetime | None = None
) -> Membership:
    """Staff cancel a membership, whichever store sold it: as ``membership_cancel``, audited
    with the reason."""
    found = Membership.objects.filter(pk=membership_id).values_list("member_id", flat=True).first()
    if found is None:
        raise MembershipNotFound()
    with transaction.atomic():
        membership = _cancel(membership_id=membership_id, member_id=found, now=now or timezone.now())
        audit_record(
            actor=actor,
            action="membership_cancelled",
            member_id=found,
            details={"membership": membership_id, "plan": membership.plan.code, "reason": reason[:255]},
        )
    return membership


def _cancel(*, membership_id: int, member_id: int, now: datetime) -> Membership:
    with transaction.atomic():
        lock_member(member_id)
        membership = lock_row(Membership.objects.filter(pk=membership_id).select_related("plan"))
        if membership.status == Status.CANCELLED:
            return membership
        if membership.status != Status.ACTIVE or membership.ends_at <= now:
            raise MembershipNotActive()
        old_ends_at = membership.ends_at
        membership.status = Status.CANCELLED
        membership.cancelled_at = now
        membership.auto_renew = False
        membership.ends_at = max(now, membership.starts_at)
        membership.save(update_fields=["status", "cancelled_at", "auto_renew", "ends_at"])
        event_record(
            type="membership.ended",
            member_id=member_id,
            store_id=membership.store_id,
            data={**_event_data(membership, membership.plan.code), "reason": "cancelled"},
            now=now,
        )
        if membership.plan.min_tier_id:
            # The floor held the member's tier until the membership's end: that hold ends now.
            Member.objects.filter(pk=member_id, tier_held_until=old_ends_at).update(tier_held_until=now)
            _tiers_apply(member_id, now)
        return membership


def membership_renewal_stop(
    *, member: Member, membership_id: int, actor: User | None, now: datetime | None = None
) -> Membership:
    """The member (or staff for them) stops a membership renewing: it was paid for, so its
    benefits run to its end, and then it ends. Stopping again changes nothing; another member's
    membership is not found, an ended one is ``MembershipNotActive``."""
    now = now or timezone.now()
    with transaction.atomic():
        lock_member(member.pk)
        membership = lock_row(
            Membership.objects.filter(pk=membership_id, member_id=member.pk).select_related("plan")
        )
        if membership is None:
            raise MembershipNotFound()
        if membership.status != Status.ACTIVE or membership.ends_at <= now:
            raise MembershipNotActive()
        if membership.auto_renew:
            membership.auto_renew = False
            membership.save(update_fields=["auto_renew"])
            audit_record(
                actor=actor,
                action="membership_renewal_stopped",
                member_id=member.pk,
                details={"membership": membership.pk, "plan": membership.plan.code},
            )
        return membership


def _end_lapsed(*, member_id: int, as_of: datetime) -> None:
    """What the nightly job does to one member's lapsed memberships (the member locked by the
    caller)."""
    memberships_end_chunk(as_of=as_of, first_id=member_id, last_id=member_id, locked=True)


# --- what a plan has given, for the member's dashboard -----------------------------------------

# Other apps say what a plan gave a member: ``fn(member_id, plan_code, since) -> (points, money)``,
# the extra points earned and the cash value of anything else (vouchers). Registered from their
# ``AppConfig.ready`` (``members`` imports neither app).
PlanBenefitSource = Callable[[int, str, datetime], tuple[int, Decimal]]
PLAN_BENEFIT_SOURCES: list[PlanBenefitSource] = []


def plan_benefit_source_register(source: PlanBenefitSource) -> None:
    if source not in PLAN_BENEFIT_SOURCES:
        PLAN_BENEFIT_SOURCES.append(source)


@dataclass(frozen=True)
class PlanSummary:
    membership: Membership
    since: datetime  # the first term of an unbroken run of renewals
    extra_points: int
    extra_value: Decimal  # the extra points at the point value, plus vouchers
    renews_on: datetime | None  # None when it does not renew

    @property
    def price(self) -> Decimal:
        return self.membership.price


def member_plan_summary(
    member: Member, *, point_value: Decimal, now: datetime | None = None
) -> PlanSummary | None:
    """The member's running membership and what it has given since it began (renewals
    included), against its price; None without one."""
    now = now or timezone.now()
    membership = (
        running_memberships(now)
        .filter(member=member)
        .select_related("plan")
        .order_by("-ends_at", "-id")
        .first()
    )
    if membership is None:
        return None
    since = membership.starts_at
    points, money = 0, Decimal("0")
    for source in PLAN_BENEFIT_SOURCES:
        more_points, more_money = source(member.pk, membership.plan.code, since)
        points += more_points
        money += more_money
    value = (Decimal(points) * point_value + money).quantize(Decimal("0.01"))
    renews = membership.auto_renew and membership.plan.auto_renew
    return PlanSummary(membership, since, points, value, membership.ends_at if renews else None)
