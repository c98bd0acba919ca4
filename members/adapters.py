"""allauth policy hooks for the member portal."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

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
