"""Browser-facing hardening that Django 5.2 does not ship: a Content-Security-Policy on every
response.

The pages load their scripts, style sheets and images from this site only, and run no inline
script and no event-handler attribute: scripts are ``'self'`` with no ``'unsafe-inline'``, so an
injected ``<script>`` or ``onerror=`` never runs. Styles come from the site's style sheets
only: ``<style>`` elements and ``style="..."`` attributes are refused, so the templates use
classes (and a native ``<progress>`` for progress bars). The API's Swagger page (served from
static/, no CDN) carries one small ``<style>`` element: it alone may.
"""

from __future__ import annotations

from collections.abc import Callable

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
