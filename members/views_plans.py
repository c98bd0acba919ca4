"""The portal's paid plan action: stop it renewing. Thin: ``members.memberships`` decides."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .errors import LoyaltyError
from .memberships import membership_renewal_stop
from .models import Member
from .views import member_required


@member_required
@require_POST
def plan_renewal_stop(request: HttpRequest, member: Member, membership_id: int) -> HttpResponse:
    try:
        membership = membership_renewal_stop(member=member, membership_id=membership_id, actor=request.user)
    except LoyaltyError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Your %(plan)s will not renew. Its benefits run until %(date)s.")
            % {"plan": membership.plan.name, "date": date_format(membership.ends_at, "DATE_FORMAT")},
        )
    return redirect("portal:dashboard")
