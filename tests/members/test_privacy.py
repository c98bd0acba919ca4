"""A member's rights: erasure keeps the ledger whole and leaves nothing personal behind; the
export holds everything in a fixed number of queries; consents are recorded with time and
source."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import timedelta
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from members.ledger.invariants import ledger_violations
from members.ledger.services import points_credit
from members.models import AuditEvent, Consent, LedgerEntry, Member, User
from members.privacy import member_erase, member_export
from members.services import member_email_change, member_profile_update
from tests import factories
from tests.portal.conftest import verified_user


@pytest.fixture
def maya(program) -> Member:
    user = verified_user("maya.rossi@example.org", first_name="Maya", last_name="Rossi")
    member = factories.MemberFactory(
        email=user.email, first_name="Maya", last_name="Rossi", phone="+41 79 555 12 34", user=user
    )
    now = timezone.now()
    points_credit(
        member_id=member.pk,
        points=300,
        idempotency_key="t:available",
        source_type=LedgerEntry.Source.SYSTEM,
        now=now - timedelta(days=30),
    )
    points_credit(
        member_id=member.pk,
        points=40,
        idempotency_key="t:pending",
        source_type=LedgerEntry.Source.PURCHASE,
        available_at=now + timedelta(days=10),
    )
    return member


def test_erasure_forfeits_the_points_and_the_ledger_still_holds(maya, staff_user):
    # given a member with 300 available and 40 pending points
    # when staff erase them
    erased = member_erase(member_id=maya.pk, actor=staff_user, reason="Asked by mail on 1 May")

    # then one entry took every point, and check_ledger is clean
    forfeit = LedgerEntry.objects.get(member=maya, source_id="forfeit")
    assert forfeit.kind == LedgerEntry.Kind.EXPIRE and forfeit.points == -340 and forfeit.balance_after == 0
    erased.refresh_from_db()
    assert (erased.points_available, erased.points_pending) == (0, 0)
    assert ledger_violations() == []
    call_command("check_ledger", stdout=StringIO())
    event = AuditEvent.objects.get(action="member.erase")
    assert event.actor == staff_user and event.details["points_forfeited"] == 340


def test_erasure_removes_the_login_and_every_personal_value(maya, staff_user):
    user_id = maya.user_id
    old_number = maya.member_number
    member_profile_update(
        member=maya,
        actor=maya.user,
        first_name="Maya",
        last_name="Rossi-Bianchi",
        marketing_opt_in=True,
        reminder_opt_in=True,
        birth_date=None,
    )
    member_email_change(user=maya.user, email="maya.new@example.org")
    maya.refresh_from_db()

    member_erase(member_id=maya.pk, actor=staff_user, reason="Request of maya.new@example.org")

    member = Member.objects.get(pk=maya.pk)
    assert member.status == Member.Status.ERASED and member.erased_at is not None
    assert member.user_id is None and member.member_number != old_number
    assert "maya" not in f"{member.email} {member.first_name} {member.last_name}".lower()
    assert member.phone == "" and member.birth_date is None
    assert not User.objects.filter(pk=user_id).exists()
    assert not EmailAddress.objects.filter(user_id=user_id).exists()
    for event in AuditEvent.objects.all():
        text = json.dumps(event.details).lower()
        assert "maya" not in text and "rossi" not in text, event.details
    assert Consent.objects.filter(member=maya, kind=Consent.Kind.MARKETING).first().granted is False


def test_erasure_twice_changes_nothing_more(maya, staff_user):
    member_erase(member_id=maya.pk, actor=staff_user, reason="r")
    member_erase(member_id=maya.pk, actor=staff_user, reason="r")
    assert AuditEvent.objects.filter(action="member.erase").count() == 1
    assert LedgerEntry.objects.filter(member=maya, source_id="forfeit").count() == 1


def test_erased_members_number_answers_404_over_the_api(maya, staff_user):
    from members.api_keys import api_key_create, store_get_or_create
    from tests.api.conftest import client_with_key

    _, key = api_key_create(store=store_get_or_create(name="Till"), name="till")
    api = client_with_key(key)
    number = maya.member_number
    assert api.get(f"/api/v1/members/{number}/").status_code == 200
    member_erase(member_id=maya.pk, actor=staff_user, reason="r")
    for path in (f"/api/v1/members/{number}/", f"/api/v1/members/{number}/transactions/"):
        response = api.get(path)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    new_number = Member.objects.get(pk=maya.pk).member_number
    assert api.get(f"/api/v1/members/{new_number}/").status_code == 404


def test_the_export_holds_json_and_csv_in_a_fixed_number_of_queries(maya, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        data = member_export(member=maya)
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())
    assert {
        "member.json",
        "profile.csv",
        "ledger.csv",
        "purchases.csv",
        "consents.csv",
        "vouchers.csv",
    } <= names
    document = json.loads(archive.read("member.json"))
    assert document["profile"]["email"] == "maya.rossi@example.org"
    assert [entry["points"] for entry in document["ledger"]] == [300, 40]
    rows = list(csv.DictReader(io.StringIO(archive.read("ledger.csv").decode())))
    assert [row["points"] for row in rows] == ["300", "40"]

    for i in range(5):
        points_credit(member_id=maya.pk, points=1, idempotency_key=f"more:{i}", source_type="system")
    with django_assert_max_num_queries(8):
        member_export(member=maya)


def test_consents_are_recorded_with_time_and_source(maya):
    def answers():
        return list(
            Consent.objects.filter(member=maya).order_by("at", "id").values_list("kind", "granted", "source")
        )

    member_profile_update(
        member=maya,
        actor=maya.user,
        first_name="Maya",
        marketing_opt_in=True,
        reminder_opt_in=True,
        leaderboard_opt_in=True,
    )
    member_profile_update(
        member=maya,
        actor=maya.user,
        first_name="Maya",
        marketing_opt_in=False,
        reminder_opt_in=True,
        leaderboard_opt_in=True,
    )
    assert answers() == [
        ("marketing", True, "portal"),
        ("leaderboard", True, "portal"),
        ("marketing", False, "portal"),
    ]


def test_api_enrolment_records_the_marketing_consent(db, program):
    from members.api_keys import api_key_create, store_get_or_create
    from tests.api.conftest import client_with_key

    _, key = api_key_create(store=store_get_or_create(name="Till"), name="till")
    response = client_with_key(key).post(
        "/api/v1/members/",
        {"email": "a@example.org", "first_name": "A", "last_name": "B", "marketing_opt_in": True},
        format="json",
    )
    assert response.status_code == 201
    consent = Consent.objects.get(member__email="a@example.org")
    assert consent.granted and consent.source == "api:till"


def test_signup_consent_reaches_the_member(client, program):
    from allauth.account.models import EmailAddress as Address

    response = client.post(
        reverse("account_signup"),
        {
            "first_name": "Ana",
            "last_name": "Silva",
            "email": "ana@example.org",
            "password1": "a-long-and-unusual-password-7",
            "password2": "a-long-and-unusual-password-7",
            "marketing_opt_in": "on",
        },
    )
    assert response.status_code == 302
    address = Address.objects.get(email="ana@example.org")
    from allauth.account.models import EmailConfirmationHMAC

    client.get(reverse("account_confirm_email", args=[EmailConfirmationHMAC(address).key]))
    client.post(reverse("account_confirm_email", args=[EmailConfirmationHMAC(address).key]))
    member = Member.objects.get(email="ana@example.org")
    assert member.marketing_opt_in
    assert Consent.objects.get(member=member).source == "signup"


def test_member_closes_their_account_with_their_password(client, maya):
    client.force_login(maya.user)
    page = client.get(reverse("portal:close"))
    assert page.status_code == 200 and b"cannot be undone" in page.content
    wrong = client.post(reverse("portal:close"), {"password": "nope"})
    assert wrong.status_code == 200 and Member.objects.get(pk=maya.pk).status == Member.Status.ACTIVE
    done = client.post(reverse("portal:close"), {"password": "a-long-test-password"})
    assert done.status_code == 302
    member = Member.objects.get(pk=maya.pk)
    assert member.status == Member.Status.ERASED
    assert AuditEvent.objects.get(action="member.erase").details["by"] == "member"
    assert client.get(reverse("portal:dashboard")).status_code == 302  # logged out
    assert ledger_violations() == []


def test_the_portal_download_is_a_zip(client, maya):
    client.force_login(maya.user)
    response = client.get(reverse("portal:export"))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    assert "member.json" in zipfile.ZipFile(io.BytesIO(response.content)).namelist()


def test_staff_erase_in_admin_after_a_confirmation(client, maya):
    client.force_login(factories.UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:members_member_erase", args=[maya.pk])
    assert (
        b"Erase personal data" in client.get(reverse("admin:members_member_change", args=[maya.pk])).content
    )
    assert client.post(url, {"reason": "asked"}).status_code == 200  # the confirmation is missing
    assert Member.objects.get(pk=maya.pk).status == Member.Status.ACTIVE
    response = client.post(url, {"reason": "Asked at the till", "confirm": "on"})
    assert response.status_code == 302
    assert Member.objects.get(pk=maya.pk).status == Member.Status.ERASED
    assert ledger_violations() == []


def test_staff_without_the_change_permission_cannot_erase(client, maya):
    client.force_login(factories.UserFactory(is_staff=True))
    response = client.post(
        reverse("admin:members_member_erase", args=[maya.pk]), {"reason": "x", "confirm": "on"}
    )
    assert response.status_code == 403
    assert Member.objects.get(pk=maya.pk).status == Member.Status.ACTIVE


def test_erasure_scrubs_the_webhook_outbox(program):
    """Given a member enrolled through the API (whose enrolment event carries the address and
    names), erasure leaves no personal value in the outbox."""
    from members.services import member_enroll
    from members.webhooks.models import WebhookEvent

    member = member_enroll(email="olga.outbox@example.org", first_name="Olga", last_name="Outbox")
    assert WebhookEvent.objects.filter(member=member, data__email="olga.outbox@example.org").exists()

    member_erase(member_id=member.pk, actor=None, reason="asked")

    outbox = WebhookEvent.objects.filter(member=member).values_list("data", flat=True)
    texts = [json.dumps(data) for data in outbox]
    assert texts and not any("olga" in text.lower() or "outbox@" in text.lower() for text in texts)
