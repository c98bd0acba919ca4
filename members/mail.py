"""The one way mail is made: a subject and a body from templates, wrapped in the one base
(``templates/email/base.txt`` and ``base.html``) with the program's name and a footer, sent as
text with an HTML alternative, in the member's language.

A mail is ``<prefix>_subject.txt`` and ``<prefix>_message.txt``; an optional
``<prefix>_message.html`` gives the HTML its own body, otherwise the text body is set in HTML.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

from .models import Member, Program


def mail_language(*, member: Member | None = None, email: str | None = None) -> str | None:
    """The language to write to a member in: theirs, or None for the site's default."""
    if member is None and email:
        member = Member.objects.filter(email__iexact=email).only("language").first()
    return (member.language or None) if member is not None else None


def mail_render(
    template_prefix: str,
    context: dict[str, Any],
    to: list[str],
    *,
    language: str | None = None,
    program: Program | None = None,
    subject_prefix: str = "",
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    program = program or Program.load()
    context = {**context, "program": program, "site_url": settings.LOYALTY_SITE_URL}
    # No language of the member's own: the one active now (the request's), else the site's.
    with translation.override(language or translation.get_language() or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{template_prefix}_subject.txt", context).split())
        body = render_to_string(f"{template_prefix}_message.txt", context).strip()
        try:
            html_body = render_to_string(f"{template_prefix}_message.html", context)
        except TemplateDoesNotExist:
            html_body = None
        wrapped = {**context, "body": body, "html_body": html_body, "subject": subject}
        text = render_to_string("email/base.txt", wrapped)
        html = render_to_string("email/base.html", wrapped)
    message = EmailMultiAlternatives(
        subject=f"{subject_prefix}{subject}",
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message
