"""Writes to members that are not ledger postings: enrolment and claiming a membership."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .audit import audit_record
from .errors import Conflict, InvalidRequest
from .identity import same_person
from .locks import lock_member, lock_row
from .models import Consent, Member, Program, Store, Tier, TierChange, User
from .privacy import consent_record
from .signals import member_enrolled
from .webhooks import event_record, payloads


class MemberExists(Conflict):
    code = "member_exists"
    default_message = gettext_lazy("A member with that email address already exists.")


def _normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise InvalidRequest(
            "A valid email address is required.", fields={"email": ["Enter a valid email address."]}
        )
    return email


def member_enroll(
    *,
    email: str,
    first_name: str,
    last_name: str = "",
    phone: str = "",
    birth_date: date | None = None,
    referral_code: str | None = None,
    store: Store | None = None,
    user: User | None = None,
    channel: str = "api",
    marketing_opt_in: bool = False,
    consent_source: str = "",
    now: datetime | None = None,
) -> Member:
    """Enrol a new member on the entry tier. A known email is ``MemberExists``. A referral code
    links the referrer (never the member themself); the referral reward is paid later, when
    the new member's first purchase lands."""
    email = _normalise_email(email)
    if not (first_name or "").strip():
        raise InvalidRequest("A first name is required.", fields={"first_name": ["Required."]})
    now = now or timezone.now()
    program = Program.load()
    referrer = None
    if referral_code:
        referrer = Member.objects.filter(referral_code=referral_code.strip().upper()).first()
        if referrer and same_person(
            email=email, phone=phone, other_email=referrer.email, other_phone=referrer.phone
        ):
            referrer = None  # self-referral: enrolment goes ahead, the referral does not count
    entry_tier = Tier.objects.order_by("rank").first()
    try:
        with transaction.atomic():
            member = Member.objects.create(
                email=email,
                first_name=first_name.strip(),
                last_name=(last_name or "").strip(),
                phone=(phone or "").strip(),
                birth_date=birth_date,
                birth_date_set_at=now if birth_date else None,
                enrolled_store=store,
                referred_by=referrer,
                user=user,
                tier=entry_tier,
                tier_achieved_at=now if entry_tier else None,
                tier_held_until=now + timedelta(days=program.tier_hold_days) if entry_tier else None,
                enrolled_at=now,
                marketing_opt_in=marketing_opt_in,
            )
            consent_record(
                member=member,
                kind=Consent.Kind.MARKETING,
                granted=marketing_opt_in,
                source=consent_source or channel,
                now=now,
            )
            if entry_tier:
                TierChange.objects.create(
                    member=member, to_tier=entry_tier, reason=TierChange.Reason.ENROLMENT, created_at=now
                )
            transaction.on_commit(
                lambda: member_enrolled.send(sender=Member, member_id=member.pk, channel=channel)
            )
            event_record(
                type="member.enrolled",
                member_id=member.pk,
                store_id=member.enrolled_store_id,
                data=payloads.member_enrolled(member),
            )
    except IntegrityError:
        raise MemberExists() from None
    return member


@transaction.atomic
def member_claim_for_user(*, user: User, now: datetime | None = None) -> Member:
    """Link ``user`` (whose email is verified) to the member a store enrolled with that email,
    or enrol a new member for them (with the referral code their sign-up carried)."""
    if existing := lock_row(Member.objects.filter(user=user)):
        return existing
    member = lock_row(Member.objects.filter(email=user.email.lower(), user__isnull=True))
    if member is not None:
        member.user = user
        member.save(update_fields=["user"])
        if user.signup_marketing_opt_in and not member.marketing_opt_in:
            member.marketing_opt_in = True
            member.save(update_fields=["marketing_opt_in"])
            consent_record(member=member, kind=Consent.Kind.MARKETING, granted=True, source="signup", now=now)
        return member
    return member_enroll(
        email=user.email,
        first_name=user.first_name or user.email.split("@")[0],
        last_name=user.last_name,
        user=user,
        referral_code=user.signup_referral_code or None,
        channel="signup",
        marketing_opt_in=user.signup_marketing_opt_in,
        now=now,
    )


@transaction.atomic
def member_profile_update(
    *,
    member: Member,
    actor: User | None,
    first_name: str,
    last_name: str = "",
    birth_date: date | None = None,
    marketing_opt_in: bool,
    reminder_opt_in: bool,
    leaderboard_opt_in: bool | None = None,
    language: str | None = None,
) -> Member:
    """A member edits their own profile. The birthday can be set once (it pays a birthday
    bonus); after that only staff change it, in admin."""
    if not (first_name or "").strip():
        raise InvalidRequest(_("A first name is required."), fields={"first_name": [_("Required.")]})
    member = lock_member(member.pk)
    changes: dict[str, list] = {}
    values = {
        "first_name": first_name.strip(),
        "last_name": (last_name or "").strip(),
        "marketing_opt_in": marketing_opt_in,
        "reminder_opt_in": reminder_opt_in,
    }
    if leaderboard_opt_in is not None:
        values["leaderboard_opt_in"] = leaderboard_opt_in
    if language is not None:
        values["language"] = language
    if member.birth_date is None and birth_date is not None:
        values["birth_date"] = birth_date
        values["birth_date_set_at"] = timezone.now()
    elif birth_date is not None and birth_date != member.birth_date:
        raise InvalidRequest(
            _("Your birthday is already set; ask us if it is wrong."),
            fields={"birth_date": [_("Already set: ask us to correct it.")]},
        )
    for field, value in values.items():
        if getattr(member, field) != value:
            changes[field] = [str(getattr(member, field)), str(value)]
            setattr(member, field, value)
    consents = {"marketing_opt_in": Consent.Kind.MARKETING, "leaderboard_opt_in": Consent.Kind.LEADERBOARD}
    for field, kind in consents.items():
        if field in changes:
            consent_record(member=member, kind=kind, granted=getattr(member, field), source="portal")
    if changes:
        member.save(update_fields=list(changes))
        changes.pop("birth_date_set_at", None)
        audit_record(actor=actor, action="member.profile_update", member_id=member.pk, details=changes)
    return member


@transaction.atomic
def member_email_change(*, user: User, email: str) -> Member | None:
    """Follow a verified change of a login's email address on its member."""
    email = _normalise_email(email)
    member = lock_row(Member.objects.filter(user=user))
    if member is None or member.email == email:
        return member
    if Member.objects.filter(email=email).exclude(pk=member.pk).exists():
        raise MemberExists("Another member already uses that email address.")
    previous = member.email
    member.email = email
    member.save(update_fields=["email"])
    audit_record(
        actor=user, action="member.email_change", member_id=member.pk, details={"from": previous, "to": email}
    )
    return member


def member_language_set(*, member: Member, language: str) -> Member:
    """The language the member reads the site and their mail in (one of ``LANGUAGES``)."""
    from django.conf import settings

    if language not in dict(settings.LANGUAGES):
        raise InvalidRequest("Unknown language.", fields={"language": ["Unknown language."]})
    if member.language != language:
        Member.objects.filter(pk=member.pk).update(language=language)
        member.language = language
    return member
