"""Ending a paid plan outside the API: the member stops it renewing in the portal (it runs to the
end they paid for), staff cancel it now in admin (benefits end now, audited, whichever store sold
it) or stop it renewing; both tested through their pages, with the ledger after each."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone, translation

from members.ledger.invariants import ledger_violations
from members.memberships import membership_renewal_stop, membership_start
from members.models import AuditEvent, Membership, MembershipPlan, Tier
from tests import factories
from tests.portal.conftest import verified_user
from tests.staff.conftest import _staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def renewing_plus(program):
    MembershipPlan.objects.filter(code="plus").update(auto_renew=True)


def start(member, store=None, external_id="A") -> Membership:
    return membership_start(
        store=store, member_number=member.member_number, plan_code="plus", external_id=external_id
    ).membership


def test_a_member_stops_their_plan_renewing_and_keeps_it_to_the_end(client, renewing_plus):
    user = verified_user("plus@example.org")
    member = factories.MemberFactory(user=user, email=user.email)
    membership = start(member, factories.StoreFactory())
    client.force_login(user)
    assert b'data-testid="plan-stop-renewal"' in client.get(reverse("portal:dashboard")).content

    page = client.post(reverse("portal:plan-renewal-stop", args=[membership.pk]), follow=True)

    membership.refresh_from_db()
    assert (membership.status, membership.auto_renew) == ("active", False)
    assert "will not renew" in page.content.decode()
    assert b'data-testid="plan-stop-renewal"' not in page.content
    member.refresh_from_db()
    assert member.tier.code == "gold"  # the benefits run on
    assert AuditEvent.objects.filter(action="membership_renewal_stopped", member_id=member.pk).count() == 1
    client.post(reverse("portal:plan-renewal-stop", args=[membership.pk]))  # again: nothing more
    assert AuditEvent.objects.filter(action="membership_renewal_stopped").count() == 1


def test_a_member_cannot_touch_another_members_plan(client, renewing_plus):
    user = verified_user("me@example.org")
    factories.MemberFactory(user=user, email=user.email)
    theirs = start(factories.MemberFactory())
    client.force_login(user)

    client.post(reverse("portal:plan-renewal-stop", args=[theirs.pk]))

    theirs.refresh_from_db()
    assert theirs.auto_renew is True


def test_stopping_an_ended_membership_is_refused(renewing_plus):
    member = factories.MemberFactory()
    membership = start(member)
    from members.errors import Conflict

    with pytest.raises(Conflict):
        membership_renewal_stop(
            member=member, membership_id=membership.pk, actor=None, now=membership.ends_at + timedelta(days=1)
        )


def test_staff_cancel_a_membership_now_with_a_reason(client, program):
    manager = _staff("manager@example.org", "Program manager")
    member = factories.MemberFactory()
    membership = start(member, factories.StoreFactory(code="partner", is_partner=True))
    member.refresh_from_db()
    assert member.tier.code == "gold"
    client.force_login(manager)
    url = reverse("admin:members_membership_changelist")
    form = {"action": "cancel_now", "_selected_action": [membership.pk]}

    asked = client.post(url, form)
    assert b"Why are these memberships cancelled?" in asked.content
    client.post(url, {**form, "reason": "Paid by a cheque that bounced"})

    membership.refresh_from_db()
    member.refresh_from_db()
    assert membership.status == "cancelled" and membership.ends_at <= timezone.now()
    assert member.tier == Tier.objects.order_by("rank").first()  # back to what their spend reaches
    event = AuditEvent.objects.get(action="membership_cancelled")
    assert (event.actor, event.member_id, event.details["reason"]) == (
        manager,
        member.pk,
        "Paid by a cheque that bounced",
    )
    assert ledger_violations() == []


def test_a_german_speaking_manager_cancels_a_membership_in_german(client, program):
    # Given a program manager who reads admin in German, and a member on a paid plan
    manager = _staff("manager@example.org", "Program manager")
    member = factories.MemberFactory()
    membership = start(member, factories.StoreFactory())
    client.force_login(manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"
    german = {"Accept-Language": "de"}
    url = reverse("admin:members_membership_changelist")
    form = {"action": "cancel_now", "_selected_action": [membership.pk]}

    with translation.override("en"):  # whatever the requests activate stays in this test
        listed = client.get(url, headers=german).content.decode()
        asked = client.post(url, form, headers=german).content.decode()
        # When they cancel it with a reason
        done = client.post(url, {**form, "reason": "Zahlung zurückgebucht"}, headers=german, follow=True)

    # Then the action, its question and its outcome are in German
    assert "Ausgewählte Mitgliedschaften jetzt beenden" in listed
    assert "Warum werden diese Mitgliedschaften beendet?" in asked
    page = done.content.decode()
    assert "1 Mitgliedschaft beendet." in page and "membership cancelled" not in page
    # and the membership ends, audited, with the admin history in English as always
    membership.refresh_from_db()
    assert membership.status == "cancelled"
    event = AuditEvent.objects.get(action="membership_cancelled")
    assert (event.actor, event.details["reason"]) == (manager, "Zahlung zurückgebucht")
    assert LogEntry.objects.get(object_id=str(membership.pk)).change_message == (
        "Admin action: Cancel the selected memberships now: benefits end now (asks for a reason)"
    )
    assert ledger_violations() == []


def test_staff_who_may_only_look_are_offered_no_membership_action(client, program):
    agent = _staff("agent@example.org", "Support agent")
    from django.contrib.auth.models import Permission

    agent.user_permissions.add(Permission.objects.get(codename="view_membership"))
    membership = start(factories.MemberFactory())
    client.force_login(agent)

    page = client.get(reverse("admin:members_membership_changelist"))
    assert page.status_code == 200 and b"cancel_now" not in page.content
    client.post(
        reverse("admin:members_membership_changelist"),
        {"action": "cancel_now", "_selected_action": [membership.pk], "reason": "x"},
    )
    membership.refresh_from_db()
    assert membership.status == "active"


def test_staff_reverse_transfers_from_the_admin_with_a_reason(client, program):
    from members.ledger.services import points_credit
    from members.models import LedgerEntry, Transfer
    from members.transfers import transfer_send

    manager = _staff("manager@example.org", "Program manager")
    sender, recipient = factories.MemberFactory(), factories.MemberFactory()
    points_credit(
        member_id=sender.pk, points=300, idempotency_key="gift", source_type=LedgerEntry.Source.SYSTEM
    )
    transfer_send(
        sender_id=sender.pk, recipient_id=recipient.pk, points=100, idempotency_key="t-1", notify=False
    )
    transfer = Transfer.objects.get()
    client.force_login(manager)
    url = reverse("admin:members_transfer_changelist")

    client.post(
        url, {"action": "reverse_transfers", "_selected_action": [transfer.pk], "reason": "Sent by mistake"}
    )
    again = client.post(
        url,
        {"action": "reverse_transfers", "_selected_action": [transfer.pk], "reason": "Twice"},
        follow=True,
    )

    transfer.refresh_from_db()
    sender.refresh_from_db()
    assert transfer.reversed_at is not None and transfer.reversal_reason == "Sent by mistake"
    assert sender.points_available == 300
    assert "0 transfers reversed." in again.content.decode()
    assert ledger_violations() == []
