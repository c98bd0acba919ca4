"""Staff writes: points adjustments with maker-checker approval, tier drafts and their
publication, resending a member's mail. Each is one transaction and leaves an audit event.
Their errors are lazy translations, like every domain error's (``members.errors``): staff read
them in their own language.

Who may do what is decided here, by permission, not in the views: a support agent adjusts up
to ``Program.adjustment_approval_threshold`` points; a larger adjustment needs the
``request_large_adjustment`` permission and waits for someone else with
``approve_adjustmentrequest``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.db.models.functions import Abs
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from members.audit import audit_record
from members.errors import Conflict, InvalidRequest, LoyaltyError, MemberNotFound, NotFound
from members.ledger.services import points_adjust
from members.locks import lock_row, lock_rows
from members.models import Member, Program, Tier, User

from .models import AdjustmentRequest, TierDraft


class NotPermitted(LoyaltyError):
    code = "forbidden"
    default_message = _("You are not allowed to do that.")


class SameApprover(Conflict):
    code = "same_approver"
    default_message = _("A second staff member must approve an adjustment; you requested this one.")


class AdjustmentNotPending(Conflict):
    code = "not_pending"
    default_message = _("That adjustment was already decided.")


# --- adjustments -----------------------------------------------------------------------------


def adjustment_request(
    *, member_id: int, points: int, reason: str, requested_by: User, now: datetime | None = None
) -> AdjustmentRequest:
    """Ask for ``points`` (signed) to be added to a member. Up to the program's threshold, and
    while the requester's adjustments applied in the last 24 hours stay within the program's
    daily cap, it is applied at once; otherwise it waits for a second staff member
    (``adjustment_approve``)."""
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidRequest(
            _("An adjustment is a whole number of points other than zero."),
            fields={"points": [_("A whole number other than zero.")]},
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest(_("An adjustment needs a reason."), fields={"reason": [_("Required.")]})
    if not requested_by.is_staff or not requested_by.has_perm("staff.add_adjustmentrequest"):
        raise NotPermitted(_("You may not adjust points."))
    now = now or timezone.now()
    program = Program.load()
    threshold = program.adjustment_approval_threshold
    if abs(points) > threshold and not requested_by.has_perm("staff.request_large_adjustment"):
        raise NotPermitted(
            format_lazy(
                _("Adjustments of more than {threshold} points are for program managers."),
                threshold=threshold,
            )
        )
    with transaction.atomic():
        if not Member.objects.filter(pk=member_id).exists():
            raise MemberNotFound()
        # One requester's adjustments queue here, so two at once cannot both fit under the cap.
        lock_rows(User.objects.filter(pk=requested_by.pk))
        posted_today = _points_posted_alone(requested_by, since=now - timedelta(hours=24))
        over_daily_cap = posted_today + abs(points) > program.adjustment_daily_cap
        needs_approval = abs(points) > threshold or over_daily_cap
        request = AdjustmentRequest.objects.create(
            member_id=member_id,
            points=points,
            reason=reason[:255],
            needs_approval=needs_approval,
            requested_by=requested_by,
            requested_at=now,
        )
        audit_record(
            actor=requested_by,
            action="adjustment_requested",
            member_id=member_id,
            details={
                "request": request.pk,
                "points": points,
                "reason": reason,
                "needs_approval": needs_approval,
                "threshold": threshold,
                "posted_in_24_hours": posted_today,
                "daily_cap": program.adjustment_daily_cap,
            },
        )
        if not needs_approval:
            _apply(request, staff_user=requested_by, now=now)
        return request


def _points_posted_alone(staff_user: User, *, since: datetime) -> int:
    """Points (either sign) ``staff_user`` posted with no second person since ``since``."""
    return (
        AdjustmentRequest.objects.filter(
            requested_by=staff_user, requested_at__gt=since, needs_approval=False
        ).aggregate(total=Sum(Abs("points")))["total"]
        or 0
    )


def adjustment_approve(*, request_id: int, approver: User, now: datetime | None = None) -> AdjustmentRequest:
    """The second person's approval: the adjustment is posted to the ledger."""
    if not approver.is_staff or not approver.has_perm("staff.approve_adjustmentrequest"):
        raise NotPermitted(_("You may not approve adjustments."))
    now = now or timezone.now()
    with transaction.atomic():
        request = _lock_pending(request_id)
        if request.requested_by_id == approver.pk:
            raise SameApprover()
        request.approved_by = approver
        _apply(request, staff_user=approver, now=now)
        audit_record(
            actor=approver,
            action="adjustment_approved",
            member_id=request.member_id,
            details={
                "request": request.pk,
                "points": request.points,
                "requested_by": request.requested_by_id,
                "entry": request.entry_id,
            },
        )
        return request


def adjustment_reject(
    *, request_id: int, approver: User, note: str = "", now: datetime | None = None
) -> AdjustmentRequest:
    if not approver.is_staff or not approver.has_perm("staff.approve_adjustmentrequest"):
        raise NotPermitted(_("You may not decide on adjustments."))
    now = now or timezone.now()
    with transaction.atomic():
        request = _lock_pending(request_id)
        request.status = AdjustmentRequest.Status.REJECTED
        request.decided_at = now
        request.decision_note = (note or "").strip()[:255]
        # Rejecting one's own request is withdrawing it; the approver column records only a
        # second person, so it stays empty then.
        if request.requested_by_id != approver.pk:
            request.approved_by = approver
        request.save(update_fields=["status", "decided_at", "decision_note", "approved_by"])
        audit_record(
            actor=approver,
            action="adjustment_rejected",
            member_id=request.member_id,
            details={
                "request": request.pk,
                "points": request.points,
                "note": request.decision_note,
                "requested_by": request.requested_by_id,
            },
        )
        return request


def _lock_pending(request_id: int) -> AdjustmentRequest:
    locked = lock_rows(AdjustmentRequest.objects.filter(pk=request_id))
    if not locked:
        raise NotFound(_("No such adjustment request."))
    if locked[0].status != AdjustmentRequest.Status.PENDING:
        raise AdjustmentNotPending()
    return locked[0]


def _apply(request: AdjustmentRequest, *, staff_user: User, now: datetime) -> None:
    posting = points_adjust(
        member_id=request.member_id,
        points=request.points,
        reason=request.reason,
        staff_user=staff_user,
        idempotency_key=f"adjustment-request:{request.pk}",
        now=now,
    )
    request.entry = posting.entry
    request.status = AdjustmentRequest.Status.APPLIED
    request.decided_at = now
    request.save(update_fields=["entry", "status", "decided_at", "approved_by"])


# --- tier drafts -----------------------------------------------------------------------------


def tier_draft_save(
    *,
    tiers: dict[str, dict[str, Any]],
    staff_user: User,
    draft_id: int | None = None,
    now: datetime | None = None,
) -> TierDraft:
    """Keep a set of thresholds and multipliers for the what-if page (validated, not applied)."""
    _require_tier_editor(staff_user)
    cleaned = tier_draft_clean(tiers)
    now = now or timezone.now()
    with transaction.atomic():
        draft = None
        if draft_id is not None:
            draft = lock_row(TierDraft.objects.filter(pk=draft_id, published_at__isnull=True))
        if draft is None:
            draft = TierDraft(created_by=staff_user, created_at=now)
        draft.tiers = cleaned
        draft.updated_at = now
        draft.save()
        return draft


def tier_draft_publish(*, draft_id: int, staff_user: User, now: datetime | None = None) -> TierDraft:
    """Apply a draft to the Tier rows. Members move at the next tier job run, by its rules."""
    _require_tier_editor(staff_user)
    now = now or timezone.now()
    with transaction.atomic():
        draft = lock_row(TierDraft.objects.filter(pk=draft_id))
        if draft is None:
            raise NotFound(_("No such tier draft."))
        if draft.published_at is not None:
            raise Conflict(_("That draft was already published."))
        cleaned = tier_draft_clean(draft.tiers)
        tiers = lock_rows(Tier.objects.all())
        changes: dict[str, dict[str, list[str]]] = {}
        for tier in tiers:
            new = cleaned[tier.code]
            threshold, multiplier = Decimal(new["threshold"]), Decimal(new["multiplier"])
            if (tier.threshold, tier.multiplier) != (threshold, multiplier):
                changes[tier.code] = {
                    "threshold": [str(tier.threshold), str(threshold)],
                    "multiplier": [str(tier.multiplier), str(multiplier)],
                }
                tier.threshold, tier.multiplier = threshold, multiplier
        Tier.objects.bulk_update(tiers, ["threshold", "multiplier"])
        draft.published_at, draft.published_by = now, staff_user
        draft.save(update_fields=["published_at", "published_by"])
        audit_record(
            actor=staff_user,
            action="tiers_published",
            details={"draft": draft.pk, "changes": changes},
        )
        return draft


def tier_draft_clean(tiers: dict[str, dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Every tier present, thresholds not negative and rising with rank (the entry tier at 0),
    multipliers above zero. Returns the draft with decimals as strings."""
    current = list(Tier.objects.order_by("rank"))
    cleaned: dict[str, dict[str, str]] = {}
    errors: dict[str, list[Promise]] = {}
    previous: Decimal | None = None
    for tier in current:
        values = (tiers or {}).get(tier.code)
        if not isinstance(values, dict):
            errors[tier.code] = [_("Missing.")]
            continue
        try:
            threshold = Decimal(str(values.get("threshold"))).quantize(Decimal("0.01"))
            multiplier = Decimal(str(values.get("multiplier"))).quantize(Decimal("0.01"))
        except (InvalidOperation, TypeError, ValueError):
            errors[tier.code] = [_("Threshold and multiplier must be numbers.")]
            continue
        if not threshold.is_finite() or not multiplier.is_finite():
            errors[tier.code] = [_("Threshold and multiplier must be numbers.")]
        elif previous is None and threshold != 0:
            errors[tier.code] = [_("The entry tier's threshold is 0.")]
        elif previous is not None and threshold <= previous:
            errors[tier.code] = [_("Each tier's threshold must be above the one below it.")]
        elif threshold >= Decimal("10") ** 10:
            errors[tier.code] = [_("That threshold is too large.")]
        elif not Decimal("0") < multiplier < Decimal("1000"):
            errors[tier.code] = [_("The multiplier must be above 0 (and below 1000).")]
        previous = threshold
        cleaned[tier.code] = {"threshold": str(threshold), "multiplier": str(multiplier)}
    if errors:
        raise InvalidRequest(_("The draft has errors."), fields=errors)
    return cleaned


def _require_tier_editor(user: User) -> None:
    if not user.is_staff or not user.has_perm("staff.edit_tier_draft"):
        raise NotPermitted(_("Only program managers edit tiers."))


# --- mail ------------------------------------------------------------------------------------


def member_mail_resend(*, member_id: int, staff_user: User, request: HttpRequest | None = None) -> str:
    """Send the member's email-verification mail again. Returns the address it went to."""
    from allauth.account.models import EmailAddress

    if not staff_user.is_staff or not staff_user.has_perm("staff.resend_member_mail"):
        raise NotPermitted(_("You may not resend mail."))
    member = Member.objects.select_related("user").filter(pk=member_id).first()
    if member is None:
        raise MemberNotFound()
    if member.user is None:
        raise InvalidRequest(_("The member has no login yet: there is no mail to resend."))
    address = EmailAddress.objects.filter(user=member.user, verified=False).order_by("-primary").first()
    if address is None:
        raise InvalidRequest(_("The member's email address is already verified."))
    # allauth builds the mail from the request being served, so it is sent now, not after commit.
    address.send_confirmation(request)
    audit_record(
        actor=staff_user,
        action="member_mail_resent",
        member_id=member.pk,
        details={"mail": "email_verification", "email": address.email},
    )
    return address.email
