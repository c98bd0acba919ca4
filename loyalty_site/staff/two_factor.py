"""Two-factor login for staff who can change things (allauth MFA: an authenticator app, with
recovery codes as the fallback).

Staff holding any permission beyond ``view_*`` (or superusers) must have an authenticator app
set up: until they do, every ``/admin/`` and ``/staff/`` page sends them to set one up. Once
it is set up, allauth asks for a code at every login, and the admin's own login form is
allauth's (``loyalty_site.urls``), so there is no way in around it. Staff who may only look
keep password login.
"""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

GUARDED_PATHS = ("/admin/", "/staff/")
OPEN_PATHS = ("/admin/login/", "/admin/logout/")


def two_factor_required(user) -> bool:
    """Whether ``user`` may change anything in admin or the staff portal."""
    if not (user.is_authenticated and user.is_staff):
        return False
    if user.is_superuser:
        return True
    return any(
        not codename.startswith("view_")
        for _, _, codename in (permission.partition(".") for permission in user.get_all_permissions())
    )


def has_authenticator_app(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


class StaffTwoFactorMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        if (
            path.startswith(GUARDED_PATHS)
            and not path.startswith(OPEN_PATHS)
            and two_factor_required(request.user)
            and not has_authenticator_app(request.user)
        ):
            return redirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)
