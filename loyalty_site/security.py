"""Browser-facing hardening that Django 5.2 does not ship: a Content-Security-Policy on every
response, and allauth's rate limits on the Django admin's own login form.

The pages load their scripts, style sheets and images from this site only, and run no inline
script and no event-handler attribute: scripts are ``'self'`` with no ``'unsafe-inline'``, so an
injected ``<script>`` or ``onerror=`` never runs. Styles come from the site's style sheets
only: ``<style>`` elements and ``style="..."`` attributes are refused, so the templates use
classes (and a native ``<progress>`` for progress bars). The API's Swagger page (served from
static/, no CDN) carries one small ``<style>`` element: it alone may.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Swagger UI: every file from this site; its template has a small <style> element.
DOCS_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    ]
)
DOCS_PATHS = ("/api/v1/docs/",)


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` to every response that does not set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            docs = request.path.startswith(DOCS_PATHS)
            response["Content-Security-Policy"] = DOCS_POLICY if docs else POLICY
        return response


def rate_limited_login(login_view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap the admin's login view in allauth's ``login`` (per IP) and ``login_failed`` (per IP
    and per address) rate limits, so the admin form is no easier to guess at than the portal's.
    A successful login clears the address's failures, as allauth does."""
    from allauth.core import ratelimit

    @wraps(login_view)
    def view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST":
            return login_view(request, *args, **kwargs)
        address = (request.POST.get("username") or "").strip().lower()
        limited = ratelimit.consume_or_429(request, action="login") or ratelimit.consume_or_429(
            request, action="login_failed", key=address
        )
        if limited:
            return limited
        response = login_view(request, *args, **kwargs)
        if request.user.is_authenticated:
            ratelimit.clear(request, action="login_failed", key=address)
        return response

    return view
