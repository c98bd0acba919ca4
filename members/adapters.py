"""allauth policy hooks for the member portal."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.mail import EmailMessage
from django.http import HttpRequest
from django.urls import reverse

from .forms import REFERRAL_SESSION_KEY
from .mail import mail_language, mail_render
from .models import Program


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

    def render_mail(
        self,
        template_prefix: str,
        email: str | list[str],
        context: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> EmailMessage:
        # allauth's mails (verification, password reset, notices) go through the one helper:
        # the same base, text and HTML, the program's name, in the member's language.
        to = [email] if isinstance(email, str) else list(email)
        program = Program.load()
        return mail_render(
            template_prefix,
            context,
            to,
            language=mail_language(email=to[0]) if to else None,
            program=program,
            subject_prefix=f"[{program.name}] ",
            headers=headers,
        )
