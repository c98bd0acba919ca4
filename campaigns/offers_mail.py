"""Offer mail: only to members who opted in to marketing mail, once per offer and member, each
with a link that unsubscribes them without logging in (a signed token of their id)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from members.models import Member
from members.services import member_profile_update

from .models import Offer, OfferActivation, OfferMail, OfferTarget, SegmentMember

UNSUBSCRIBE_SALT = "campaigns.offers.unsubscribe"


def unsubscribe_token(member: Member) -> str:
    return signing.dumps(member.pk, salt=UNSUBSCRIBE_SALT)


def unsubscribe_member(token: str) -> Member | None:
    """The member a token names, or None for a token that is not ours."""
    try:
        member_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    return Member.objects.filter(pk=member_id).first() if isinstance(member_id, int) else None


def marketing_unsubscribe(*, member: Member) -> Member:
    """Stop marketing mail (offers) to the member; their other settings stay."""
    return member_profile_update(
        member=member,
        actor=member.user,
        first_name=member.first_name,
        last_name=member.last_name,
        marketing_opt_in=False,
        reminder_opt_in=member.reminder_opt_in,
    )


def offer_mail_send(*, offer_id: int, now=None) -> int:
    """Mail the offer to its members who opted in and were not mailed it yet; returns how many
    mails went out. The mail rows are written first, in one transaction, so a second run (or a
    task delivered twice) mails nobody twice."""
    now = now or timezone.now()
    offer = Offer.objects.filter(pk=offer_id, is_active=True, ends_at__gt=now).first()
    if offer is None:
        return 0
    in_segment = SegmentMember.objects.filter(segment_id=offer.segment_id).values("member_id")
    on_list = OfferTarget.objects.filter(offer=offer).values("member_id")
    if offer.requires_activation:
        already = OfferActivation.objects.filter(offer=offer).values("member_id")
    else:
        already = OfferMail.objects.none().values("member_id")
    with transaction.atomic():
        members = list(
            Member.objects.filter(status=Member.Status.ACTIVE, marketing_opt_in=True)
            .filter(pk__in=in_segment.union(on_list))
            .exclude(pk__in=OfferMail.objects.filter(offer=offer).values("member_id"))
            .exclude(pk__in=already)
            .order_by("pk")
        )
        OfferMail.objects.bulk_create(
            [OfferMail(offer=offer, member=m, sent_at=now) for m in members], ignore_conflicts=True
        )
    messages = [_message(offer, member) for member in members]
    if not messages:
        return 0
    return get_connection().send_messages(messages) or 0


def _message(offer: Offer, member: Member) -> EmailMessage:
    site = settings.LOYALTY_SITE_URL.rstrip("/")
    context = {
        "offer": offer,
        "member": member,
        "offers_url": site + reverse("earn:offers"),
        "unsubscribe_url": site + reverse("earn:offers-unsubscribe", args=[unsubscribe_token(member)]),
    }
    with translation.override(member.language or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string("campaigns/email/offer_subject.txt", context).split())
        body = render_to_string("campaigns/email/offer_message.txt", context)
    return EmailMessage(
        subject=subject,
        body=body,
        to=[member.email],
        headers={
            "List-Unsubscribe": f"<{context['unsubscribe_url']}>",
        },
    )
