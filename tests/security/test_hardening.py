"""Headers, rate limits, stored keys and templates: the site's defences against a hostile
browser or a guessing script."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from loyalty_site.security import POLICY
from members.api_keys import api_key_create, store_get_or_create
from members.models import ApiKey
from tests import factories

from .conftest import site_urls

ROOT = Path(__file__).resolve().parent.parent.parent


def directives(header: str) -> dict[str, str]:
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def test_every_page_answers_with_a_content_security_policy(victim):
    browser = Client()
    browser.force_login(victim.member.user)
    for url in [*site_urls(victim), "/api/v1/schema/", "/api/v1/members/", "/healthz", "/no-such-page/"]:
        response = browser.get(url)
        assert "Content-Security-Policy" in response, url
    policy = directives(browser.get("/portal/")["Content-Security-Policy"])
    assert policy["script-src"] == "script-src 'self'", "no inline script may run"
    assert policy["style-src"] == "style-src 'self'"
    assert "style-src-attr" not in policy, "no style attribute may apply"
    assert policy["object-src"] == "object-src 'none'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe-inline" not in policy["default-src"]


def test_the_admin_answers_with_the_same_policy(client, staff_user):
    client.force_login(staff_user)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY


def test_templates_hold_no_inline_script_no_inline_style_and_no_event_handler():
    """The policy refuses them; a template that used one would break in the browser."""
    offenders = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(ld\+)?json\")[^>]*>", text, re.I):
            offenders.append(f"{template}: inline <script>")
        if re.search(r"<style\b", text, re.I):
            offenders.append(f"{template}: <style> element")
        if re.search(r"\sstyle\s*=", text, re.I):
            offenders.append(f"{template}: style attribute")
        if re.search(r"\son[a-z]+\s*=", text, re.I):
            offenders.append(f"{template}: event-handler attribute")
        if re.search(r"(href|src)=\"https?://", text, re.I):
            offenders.append(f"{template}: a resource from another site")
    assert offenders == []


@pytest.fixture
def login_user(program):
    from .conftest import verified_user

    return verified_user("limited@example.org")


def refused(response) -> bool:
    """A 429, or allauth's login form refusing further attempts for the address."""
    return response.status_code == 429 or b"Too many failed login attempts" in response.content


def _attempts_until_refused(post, limit: int) -> int:
    for attempt in range(1, limit + 1):
        if refused(post(attempt)):
            return attempt
    return 0


def test_portal_login_is_rate_limited_per_address(client, login_user):
    refused_at = _attempts_until_refused(
        lambda i: client.post("/accounts/login/", {"login": login_user.email, "password": f"wrong-{i}"}), 20
    )
    assert 1 < refused_at <= 6
    # Once refused, even the right password is refused for that address.
    right = client.post("/accounts/login/", {"login": login_user.email, "password": "a-long-test-password"})
    assert refused(right)
    assert "_auth_user_id" not in client.session


def test_the_admin_login_is_the_sites_login(client, program):
    """The admin's own form is gone: its URL sends to allauth's login (rate-limited per address
    and per IP, and with the two-factor step), and a password posted to it logs nobody in."""
    admin_user = factories.UserFactory(email="boss@example.org", is_staff=True, is_superuser=True)

    response = client.get("/admin/login/?next=/admin/")
    posted = client.post("/admin/login/", {"username": admin_user.email, "password": "a-long-test-password"})

    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert posted.status_code == 302 and posted["Location"].startswith("/accounts/login/")
    assert "_auth_user_id" not in client.session


def test_login_is_rate_limited_per_ip_across_addresses(client, program):
    refused_at = _attempts_until_refused(
        lambda i: client.post("/accounts/login/", {"login": f"u{i}@example.org", "password": "x"}), 40
    )
    assert 1 < refused_at <= 31


def test_signup_is_rate_limited_per_ip(client, program):
    refused_at = _attempts_until_refused(
        lambda i: client.post(
            "/accounts/signup/",
            {"email": f"new{i}@example.org", "password1": "x", "password2": "y", "first_name": "N"},
        ),
        40,
    )
    assert 1 < refused_at <= 21


def test_password_reset_is_rate_limited_per_address(client, login_user):
    refused_at = _attempts_until_refused(
        lambda i: client.post("/accounts/password/reset/", {"email": login_user.email}), 20
    )
    assert 1 < refused_at <= 6


def test_api_keys_are_stored_as_digests_only(db):
    store = store_get_or_create(name="Hash Street")
    key, raw_key = api_key_create(store=store, name="till")
    assert key.digest == hashlib.sha256(raw_key.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiKey._meta.db_table}")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert raw_key not in stored
    secret_part = raw_key.split("_", 2)[2]
    assert secret_part not in stored
    # The key works; its digest, or its public prefix, does not.
    for bearer, expected in ((raw_key, 200), (key.digest, 401), (key.prefix, 401)):
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {bearer}")
        assert api.get("/api/v1/rewards/").status_code == expected


def test_a_revoked_key_is_refused(db):
    from members.api_keys import api_key_revoke

    key, raw_key = api_key_create(store=store_get_or_create(name="Old Till"), name="till")
    api_key_revoke(key=key)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    response = api.get("/api/v1/rewards/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_sessions_and_csrf_cookies_are_http_only_or_secure_in_production():
    import subprocess
    import sys

    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SESSION_COOKIE_HTTPONLY, "
        "s.SECURE_HSTS_SECONDS > 0, 'loyalty_site.security.ContentSecurityPolicyMiddleware' in s.MIDDLEWARE)"
    )
    env = {
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings.production",
        "SECRET_KEY": "x" * 60,
        "ALLOWED_HOSTS": "rewards.example.com",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(
        [sys.executable, "-c", f"import django;django.setup();{code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.split() == ["True"] * 5
    assert settings.MIDDLEWARE.index("loyalty_site.security.ContentSecurityPolicyMiddleware") == 1


def test_only_the_swagger_page_gets_the_wider_policy(client, db):
    from loyalty_site.security import DOCS_POLICY

    docs = client.get("/api/v1/docs/")
    assert docs.status_code == 200
    assert docs["Content-Security-Policy"] == DOCS_POLICY
    # Swagger UI comes from this site (static/), its start-up script from a URL: offline, no inline script.
    assert "https://" not in docs.content.decode() and "<script>" not in docs.content.decode()
    assert directives(DOCS_POLICY)["script-src"] == "script-src 'self'"
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    assert client.get("/api/v1/schema/")["Content-Security-Policy"] == POLICY
    assert client.get("/")["Content-Security-Policy"] == POLICY
    assert "unsafe-inline" not in directives(POLICY)["script-src"]
