"""The member portal's offers page (/portal/offers/): the offers meant for the member with an
activate button on each, and the unsubscribe page an offer mail links to."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from members.errors import LoyaltyError
from members.models import Member
from members.views import member_required

from .offers import member_offers, offer_activate
from .offers_mail import marketing_unsubscribe, unsubscribe_member


@member_required
def offers(request: HttpRequest, member: Member) -> HttpResponse:
    return render(request, "campaigns/offers.html", {"member": member, "offers": member_offers(member)})


@require_POST
@member_required
def offer_activate_view(request: HttpRequest, member: Member, code: str) -> HttpResponse:
    try:
        item = offer_activate(member=member, code=code[:60], channel="portal")
    except LoyaltyError:
        messages.error(request, _("That offer is not available to you any more."))
    else:
        until = formats.date_format(timezone.localtime(item.valid_until), "j F")
        messages.success(
            request, _("%(offer)s is active until %(date)s.") % {"offer": item.offer.name, "date": until}
        )
    return redirect("earn:offers")


def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """No login needed: the signed token in the mail's link names the member. A GET only asks;
    the POST unsubscribes (mail scanners follow links)."""
    member = unsubscribe_member(token)
    if member is None:
        return render(request, "campaigns/unsubscribe.html", {"invalid": True}, status=404)
    done = False
    if request.method == "POST":
        marketing_unsubscribe(member=member)
        done = True
    return render(request, "campaigns/unsubscribe.html", {"done": done, "opted_in": member.marketing_opt_in})
