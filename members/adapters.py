"""allauth policy hooks for the member portal."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest
from django.urls import reverse

from .forms import REFERRAL_SESSION_KEY


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Called on every visit of the sign-up page: remember the code a referral link
        # (``/accounts/signup/?ref=CODE``) carried, so it survives the form and the
        # verification mail and reaches enrolment.
        code = (request.GET.get("ref") or "").strip().upper()
        if code and len(code) <= 12 and code.isalnum():
            request.session[REFERRAL_SESSION_KEY] = code
        return super().is_open_for_signup(request)

    def get_login_redirect_url(self, request: HttpRequest) -> str:
        # Staff land on their own pages (an explicit ?next= still wins, allauth sees to that).
        if request.user.is_staff:
            return reverse("staff:dashboard")
        return super().get_login_redirect_url(request)
