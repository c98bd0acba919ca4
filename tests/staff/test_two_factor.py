"""Two-factor login for staff who can change things: without an authenticator app they are
sent to set one up before any admin or staff page; with one, login asks for its code (or a
recovery code, once); staff who may only look, and members, are not asked."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.contrib.auth.models import Group, Permission

from loyalty_site.staff.roles import PROGRAM_MANAGER, SUPPORT_AGENT
from tests import factories
from tests.conftest import TEST_TOTP_SECRET, totp_code

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password"


def staff(email: str, role: str | None = None, **extra):
    user = factories.UserFactory(email=email, is_staff=True, **extra)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def log_in(client, user) -> str:
    response = client.post("/accounts/login/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    return response["Location"]


@pytest.mark.without_authenticator_app
@pytest.mark.parametrize("role", [PROGRAM_MANAGER, SUPPORT_AGENT])
@pytest.mark.parametrize("path", ["/admin/", "/admin/members/member/", "/staff/"])
def test_staff_who_can_change_things_set_up_an_app_first(client, program, role, path):
    user = staff("pm@example.org", role)
    client.force_login(user)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/2fa/totp/activate/?next=")


@pytest.mark.without_authenticator_app
def test_staff_who_may_only_look_and_members_are_not_asked(client, program, member):
    viewer = staff("viewer@example.org")
    viewer.user_permissions.set(Permission.objects.filter(codename="view_member"))
    client.force_login(viewer)
    assert client.get("/admin/members/member/").status_code == 200

    member_user = factories.UserFactory(email="m@example.org")
    client.force_login(member_user)
    assert client.get("/portal/").status_code in (200, 302)
    assert not client.get("/portal/").get("Location", "").startswith("/accounts/2fa/")


@pytest.mark.without_authenticator_app
def test_setting_up_the_app_then_logging_in_with_it(client, program):
    """Given a program manager with only a password: logging in lets them in, admin sends them
    to set up the app; they confirm a code from it and get recovery codes; from then on login
    asks for a code, a wrong one keeps them out and a right one lets them into admin."""
    user = staff("pm@example.org", PROGRAM_MANAGER)
    log_in(client, user)
    activate = client.get("/admin/")["Location"]

    page = client.get(activate)
    if page.status_code == 302 and page["Location"].startswith("/accounts/reauthenticate/"):
        # allauth asks for the password again before a security change.
        client.post(page["Location"], {"password": PASSWORD})
        page = client.get(activate)
    secret = page.context["form"].secret
    assert page.status_code == 200 and secret
    response = client.post(activate, {"code": totp_code(secret)})
    assert response.status_code == 302
    assert set(Authenticator.objects.filter(user=user).values_list("type", flat=True)) == {
        "totp",
        "recovery_codes",
    }

    client.logout()
    assert log_in(client, user) == "/accounts/2fa/authenticate/"
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    wrong = client.post("/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session

    right = client.post("/accounts/2fa/authenticate/", {"code": totp_code(secret)})
    assert right.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_recovery_code_logs_in_once(client, program):
    user = staff("pm@example.org", PROGRAM_MANAGER)
    code = RecoveryCodes.activate(user).get_unused_codes()[0]

    assert log_in(client, user) == "/accounts/2fa/authenticate/"
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 302
    assert client.get("/staff/").status_code == 200

    client.logout()
    log_in(client, user)
    assert client.post("/accounts/2fa/authenticate/", {"code": code}).status_code == 200
    assert "_auth_user_id" not in client.session


def test_test_staff_have_the_app_set_up(client, program):
    """The suite's staff carry an app with ``TEST_TOTP_SECRET`` (see ``tests/conftest.py``)."""
    user = staff("pm@example.org", PROGRAM_MANAGER)
    assert log_in(client, user) == "/accounts/2fa/authenticate/"
    client.post("/accounts/2fa/authenticate/", {"code": totp_code(TEST_TOTP_SECRET)})
    assert client.get("/admin/").status_code == 200
