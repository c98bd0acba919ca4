"""Accounts by allauth: sign-up claims the member a store enrolled once the email is verified,
a referral link carries through sign-up, rate limits, password reset and change of email."""

from __future__ import annotations

import re

from django.core import mail
from django.test import Client
from django.urls import reverse

from members.models import AuditEvent, Member, User
from members.services import member_enroll
from tests.conftest import totp_code
from tests.portal.conftest import verified_user

PASSWORD = "a-long-and-unusual-password-7"


def _signup(client, email, *, first_name="Ada", query="", **extra):
    return client.post(
        reverse("account_signup") + query,
        {"email": email, "first_name": first_name, "password1": PASSWORD, "password2": PASSWORD, **extra},
    )


def _confirmation_link(email: str) -> str:
    message = next(m for m in reversed(mail.outbox) if email in m.to)
    return re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", message.body).group(1)


def test_signup_with_a_store_enrolled_email_claims_that_member_after_verification(client, program):
    enrolled = member_enroll(email="shopper@example.org", first_name="Sam", channel="api")
    response = _signup(client, "shopper@example.org")
    assert response.status_code == 302 and response["Location"] == reverse("account_email_verification_sent")
    enrolled.refresh_from_db()
    assert enrolled.user_id is None  # not before the address is verified

    message = mail.outbox[-1]
    assert message.subject == "[Rewards Club] Confirm your email to finish joining"
    assert "your card and its points are linked" in message.body
    link = _confirmation_link("shopper@example.org")
    assert "Confirm your email" in client.get(link).content.decode()
    response = client.post(link)
    assert response.status_code == 302

    enrolled.refresh_from_db()
    assert enrolled.user is not None and enrolled.user.email == "shopper@example.org"
    assert Member.objects.filter(email="shopper@example.org").count() == 1
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "Hi, Sam" in page and enrolled.member_number in page


def test_signup_with_a_new_email_enrols_a_member_with_the_referral_of_the_link(client, program):
    referrer = member_enroll(email="friend@example.org", first_name="Fran", channel="api")
    assert client.get(reverse("account_signup"), {"ref": referrer.referral_code.lower()}).status_code == 200
    page = client.get(reverse("account_signup")).content.decode()
    assert f'value="{referrer.referral_code}"' in page and "A friend invited you" in page

    _signup(client, "newbie@example.org", first_name="Nia", last_name="Ng")
    assert not Member.objects.filter(email="newbie@example.org").exists()
    client.post(_confirmation_link("newbie@example.org"))

    member = Member.objects.get(email="newbie@example.org")
    assert member.referred_by == referrer
    assert (member.first_name, member.last_name) == ("Nia", "Ng")
    assert member.user.email == "newbie@example.org"


def test_the_referral_counts_when_the_address_is_verified_in_another_browser(client, program):
    referrer = member_enroll(email="host@example.org", first_name="Hal", channel="api")
    client.get(reverse("account_signup"), {"ref": referrer.referral_code})
    _signup(client, "phone@example.org", referral_code=referrer.referral_code)
    assert User.objects.get(email="phone@example.org").signup_referral_code == referrer.referral_code

    Client().post(_confirmation_link("phone@example.org"))  # the mail opened on another device

    assert Member.objects.get(email="phone@example.org").referred_by == referrer


def test_a_cleared_referral_field_means_no_referral(client, program):
    referrer = member_enroll(email="link@example.org", first_name="Lin", channel="api")
    client.get(reverse("account_signup"), {"ref": referrer.referral_code})
    _signup(client, "declined@example.org", referral_code="")
    client.post(_confirmation_link("declined@example.org"))

    assert Member.objects.get(email="declined@example.org").referred_by is None


def test_a_referral_code_typed_on_the_form_counts_and_a_self_referral_does_not(client, program):
    referrer = member_enroll(email="pal@example.org", first_name="Pal", channel="api")
    _signup(client, "typed@example.org", referral_code=referrer.referral_code)
    client.post(_confirmation_link("typed@example.org"))
    assert Member.objects.get(email="typed@example.org").referred_by == referrer


def test_an_unverified_login_cannot_reach_the_portal(client, program):
    _signup(client, "unverified@example.org")
    response = client.post(
        reverse("account_login"), {"login": "unverified@example.org", "password": PASSWORD}
    )
    assert response["Location"] == reverse("account_email_verification_sent")
    assert client.get(reverse("portal:dashboard")).status_code == 302


def test_failed_logins_on_one_address_are_rate_limited(client, program):
    verified_user("target@example.org")
    pages = [
        client.post(reverse("account_login"), {"login": "target@example.org", "password": "wrong"})
        for _ in range(6)
    ]
    assert all("Too many failed login attempts" not in p.content.decode() for p in pages[:5])
    assert "Too many failed login attempts" in pages[5].content.decode()
    # Even the right password is refused until the window passes.
    response = client.post(
        reverse("account_login"), {"login": "target@example.org", "password": "a-long-test-password"}
    )
    assert "_auth_user_id" not in client.session and response.status_code == 200


def test_signups_from_one_address_are_rate_limited(client, program, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}
    statuses = [_signup(client, f"burst{i}@example.org").status_code for i in range(3)]
    assert statuses == [302, 302, 429]
    assert not Member.objects.exists()
    assert User.objects.filter(email__startswith="burst").count() == 2


def test_password_reset_mails_a_link_that_sets_a_new_password(client, program):
    verified_user("forgetful@example.org")
    response = client.post(reverse("account_reset_password"), {"email": "forgetful@example.org"})
    assert response.status_code == 302
    body = mail.outbox[-1].body
    link = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/[^\s]+/)", body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(
        form_url, {"password1": "another-long-password-9", "password2": "another-long-password-9"}
    )
    assert response.status_code == 302
    assert client.login(username="forgetful@example.org", password="another-long-password-9")


def test_a_verified_change_of_email_follows_on_the_member(member_client, portal_member):
    response = member_client.post(
        reverse("account_email"), {"email": "maya.new@example.org", "action_add": ""}
    )
    assert response.status_code == 302
    portal_member.refresh_from_db()
    assert portal_member.email == "maya@example.org"  # not until the new address is verified
    member_client.post(_confirmation_link("maya.new@example.org"))
    portal_member.refresh_from_db()
    assert portal_member.email == "maya.new@example.org"
    assert portal_member.user.email == "maya.new@example.org"
    assert AuditEvent.objects.filter(member=portal_member, action="member.email_change").exists()


def test_an_unknown_referral_code_is_explained_on_the_form(client, program):
    response = _signup(client, "typo@example.org", referral_code="NOSUCH12")
    assert response.status_code == 200
    assert "We do not know this code" in response.content.decode()
    assert not User.objects.filter(email="typo@example.org").exists()


def test_staff_logging_in_land_on_the_staff_pages_and_members_on_the_portal(client, program):
    verified_user("boss@example.org", is_staff=True)
    verified_user("someone@example.org")
    client.post(reverse("account_login"), {"login": "boss@example.org", "password": "a-long-test-password"})
    staff = client.post(reverse("mfa_authenticate"), {"code": totp_code()})
    assert staff["Location"] == reverse("staff:dashboard")
    client.logout()
    member = client.post(
        reverse("account_login"), {"login": "someone@example.org", "password": "a-long-test-password"}
    )
    assert member["Location"] == reverse("portal:dashboard")
