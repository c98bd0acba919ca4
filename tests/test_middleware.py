"""The session, authentication and messages middleware step aside for /api/ and only there:
the site's pages keep their sessions, logins, messages and CSRF protection. And the API's
shortcut through content negotiation answers as DRF's full negotiation does."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from tests import factories
from tests.api.conftest import client_with_key

pytestmark = pytest.mark.django_db


def test_a_page_still_gets_a_session_a_login_and_messages(client, program):
    user = factories.UserFactory(email="page@example.org")
    factories.MemberFactory(email=user.email, user=user)
    client.force_login(user)

    response = client.get(reverse("portal:profile"))

    assert response.status_code == 200
    assert response.wsgi_request.user == user
    assert response.wsgi_request.session.session_key
    list(get_messages(response.wsgi_request))  # the message store is there


def test_a_page_form_still_needs_its_csrf_token(program):
    client = Client(enforce_csrf_checks=True)
    page = client.get("/accounts/login/")
    assert "csrftoken" in page.cookies

    refused = client.post("/accounts/login/", {"login": "x@example.org", "password": "nope"})

    assert refused.status_code == 403


def test_an_api_request_has_no_session_and_sets_no_cookie(api_key, member):
    till = client_with_key(api_key)

    response = till.get(f"/api/v1/members/{member.member_number}/")

    assert response.status_code == 200
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "_messages")
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_a_logged_in_browser_is_not_a_store(client, program, member):
    """The API authenticates by key alone: a site session does not stand in for one."""
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))

    response = client.get(f"/api/v1/members/{member.member_number}/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.fixture
def api_key(db):
    from members.api_keys import api_key_create, store_get_or_create

    return api_key_create(store=store_get_or_create(name="Middleware Till"), name="till")[1]


def test_negotiation_answers_json_and_still_refuses_what_it_cannot_give(api_key, member):
    till = client_with_key(api_key)
    url = f"/api/v1/members/{member.member_number}/"

    for accept in ("", "*/*", "application/json", "application/json; indent=2"):
        response = till.get(url, HTTP_ACCEPT=accept)
        assert response.status_code == 200, accept
        assert response["Content-Type"].startswith("application/json")
    refused = till.get(url, HTTP_ACCEPT="text/html")

    assert refused.status_code == 406
