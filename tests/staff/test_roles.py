"""Each staff role sees and does only what it may, through admin and the staff pages, and every
staff action lands in the admin history and the audit events."""

from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from loyalty_site.staff.models import AdjustmentRequest, StoreManager
from loyalty_site.staff.roles import PROGRAM_MANAGER, STORE_MANAGER, SUPPORT_AGENT
from members.models import ApiKey, AuditEvent, LedgerEntry, Purchase
from tests import factories

pytestmark = pytest.mark.django_db


def admin_url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


@pytest.fixture
def two_stores(program):
    mine, theirs = (
        factories.StoreFactory(name="Mine", code="mine"),
        factories.StoreFactory(name="Theirs", code="theirs"),
    )
    member = factories.MemberFactory()
    now = timezone.now()
    for store, external_id in [(mine, "m-1"), (theirs, "t-1")]:
        Purchase.objects.create(
            member=member, store=store, external_id=external_id, amount=Decimal("10"), currency="USD",
            purchased_at=now, available_at=now + timedelta(days=14),
        )  # fmt: skip
    return mine, theirs


def test_the_groups_exist_with_their_permissions(program):
    manager = Group.objects.get(name=PROGRAM_MANAGER)
    agent = Group.objects.get(name=SUPPORT_AGENT)
    store = Group.objects.get(name=STORE_MANAGER)

    def names(group):
        return {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }

    assert {"staff.approve_adjustmentrequest", "staff.view_reports", "members.change_program",
            "rewards.change_reward", "campaigns.change_campaign"} <= names(manager)  # fmt: skip
    assert {
        "members.view_member",
        "staff.add_adjustmentrequest",
        "staff.resend_member_mail",
    } <= names(agent)
    assert not {
        "members.change_member", "staff.approve_adjustmentrequest",
        "staff.request_large_adjustment", "staff.view_reports",
    } & names(agent)  # fmt: skip
    assert names(store) == {
        "members.view_store", "members.view_purchase", "members.view_purchaseline", "members.view_refund",
        "members.view_apikey", "members.add_apikey", "members.change_apikey",
    }  # fmt: skip


def test_a_support_agent_reads_members_but_does_not_change_them(client, agent, member):
    client.force_login(agent)

    assert client.get(admin_url("members_member_changelist"), {"q": member.email}).status_code == 200
    page = client.get(admin_url("members_member_change", member.pk))
    assert page.status_code == 200 and "Adjust points" in page.content.decode()
    assert (
        client.get(admin_url("members_ledgerentry_changelist"), {"q": member.member_number}).status_code
        == 200
    )
    response = client.post(admin_url("members_member_change", member.pk), {"first_name": "Changed"})
    assert response.status_code == 403
    assert client.get(admin_url("members_program_change", 1)).status_code == 403
    assert client.get(admin_url("members_apikey_changelist")).status_code == 403


def test_a_support_agent_adjusts_small_amounts_from_the_member_page(client, agent, member):
    client.force_login(agent)
    url = admin_url("members_member_adjust", member.pk)

    response = client.post(url, {"points": 150, "reason": "Receipt not scanned"})

    assert response.status_code == 302
    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.created_by) == ("adjust", 150, agent)
    log = LogEntry.objects.get(object_id=str(member.pk))
    assert (log.user, log.get_change_message()) == (
        agent,
        "Points adjustment +150 requested: Receipt not scanned",
    )
    assert set(AuditEvent.objects.filter(member=member).values_list("action", flat=True)) == {
        "adjustment_requested", "points_adjusted", "admin_changed"
    }  # fmt: skip

    response = client.post(url, {"points": 5000, "reason": "Big"})
    assert response.status_code == 200
    assert "program managers" in response.content.decode()
    assert LedgerEntry.objects.filter(member=member).count() == 1
    assert AdjustmentRequest.objects.count() == 1

    response = client.post(url, {"points": 10, "reason": ""})
    assert response.status_code == 200 and LedgerEntry.objects.filter(member=member).count() == 1


def test_a_large_adjustment_in_admin_needs_a_second_manager(client, manager, second_manager, member):
    client.force_login(manager)
    client.post(admin_url("members_member_adjust", member.pk), {"points": 4000, "reason": "Compensation"})
    request = AdjustmentRequest.objects.get()
    assert request.status == "pending" and not LedgerEntry.objects.exists()

    changelist = admin_url("staff_adjustmentrequest_changelist")
    response = client.post(changelist, {"action": "approve", "_selected_action": [request.pk]}, follow=True)
    assert "must approve" in response.content.decode()
    request.refresh_from_db()
    assert request.status == "pending" and not LedgerEntry.objects.exists()

    client.force_login(second_manager)
    client.post(changelist, {"action": "approve", "_selected_action": [request.pk]})

    request.refresh_from_db()
    assert (request.status, request.approved_by) == ("applied", second_manager)
    assert LedgerEntry.objects.get().points == 4000
    assert LogEntry.objects.filter(user=second_manager, object_id=str(request.pk)).exists()
    assert AuditEvent.objects.filter(action="adjustment_approved", actor=second_manager).exists()


def test_a_support_agent_cannot_approve(client, agent, manager, member):
    from loyalty_site.staff.services import adjustment_request

    request = adjustment_request(member_id=member.pk, points=3000, reason="Goodwill", requested_by=manager)
    client.force_login(agent)

    response = client.get(admin_url("staff_adjustmentrequest_changelist"))
    assert response.status_code == 200
    assert 'value="approve"' not in response.content.decode()
    client.post(
        admin_url("staff_adjustmentrequest_changelist"),
        {"action": "approve", "_selected_action": [request.pk]},
    )
    request.refresh_from_db()
    assert request.status == "pending"


def test_a_support_agent_resends_the_verification_mail(client, agent, member):
    user = factories.UserFactory(email=member.email)
    member.user = user
    member.save()
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    client.force_login(agent)

    client.post(
        admin_url("members_member_changelist"),
        {"action": "resend_verification_mail", "_selected_action": [member.pk]},
    )

    assert len(mail.outbox) == 1 and mail.outbox[0].to == [member.email]
    assert AuditEvent.objects.filter(action="member_mail_resent", actor=agent, member=member).exists()
    assert LogEntry.objects.filter(user=agent, change_message="Email-verification mail resent").exists()


def test_a_store_manager_sees_only_their_store(client, store_manager, two_stores):
    mine, theirs = two_stores
    StoreManager.objects.create(user=store_manager, store=mine)
    client.force_login(store_manager)

    response = client.get(admin_url("members_purchase_changelist"))
    assert response.status_code == 200
    assert [p.external_id for p in response.context["cl"].result_list] == ["m-1"]
    other = Purchase.objects.get(external_id="t-1")
    assert (
        client.get(admin_url("members_purchase_change", other.pk)).status_code == 302
    )  # not found: redirected
    assert client.get(admin_url("members_member_changelist")).status_code == 403
    assert client.get(reverse("staff:dashboard"))["Location"] == reverse("admin:index")

    response = client.post(admin_url("members_apikey_add"), {"store": theirs.pk, "name": "till"})
    assert response.status_code == 200  # the other store is not a choice
    assert not ApiKey.objects.exists()
    response = client.post(admin_url("members_apikey_add"), {"store": mine.pk, "name": "till"})
    assert response.status_code == 302
    key = ApiKey.objects.get()
    assert key.store == mine
    assert [s.pk for s in client.get(admin_url("members_store_changelist")).context["cl"].result_list] == [
        mine.pk
    ]

    client.post(admin_url("members_apikey_changelist"), {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None
    apikey_events = AuditEvent.objects.filter(actor=store_manager, details__model="members.apikey")
    assert sorted(apikey_events.values_list("action", flat=True)) == ["admin_added", "admin_changed"]


def test_admin_edits_of_settings_are_in_the_history_and_the_audit(client, manager, program):
    client.force_login(manager)
    url = admin_url("members_program_change", 1)
    form = client.get(url).context["adminform"].form
    data = {name: ("" if value is None else value) for name, value in form.initial.items() if name != "id"}
    data["adjustment_approval_threshold"] = 250

    response = client.post(url, data)

    assert response.status_code == 302
    program.refresh_from_db()
    assert program.adjustment_approval_threshold == 250
    assert LogEntry.objects.filter(user=manager, content_type__model="program").exists()
    event = AuditEvent.objects.get(action="admin_changed", details__model="members.program")
    assert event.actor == manager


def test_the_member_page_shows_the_latest_entries_in_a_fixed_number_of_queries(
    client, manager, member, django_assert_max_num_queries
):
    from members.ledger.services import points_credit

    for i in range(60):
        points_credit(member_id=member.pk, points=1, idempotency_key=f"k{i}", source_type="system")
    client.force_login(manager)

    with django_assert_max_num_queries(40):
        page = client.get(admin_url("members_member_change", member.pk))

    assert page.status_code == 200
    inline = next(f for f in page.context["inline_admin_formsets"] if f.opts.model is LedgerEntry)
    assert len(inline.formset.forms) == 50


def test_admin_pages_of_every_app_open_for_a_program_manager(client, manager):
    client.force_login(manager)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    for model_admin in index.context["available_apps"]:
        for model in model_admin["models"]:
            if model.get("admin_url"):
                assert client.get(model["admin_url"]).status_code in (200, 302), model["admin_url"]


def test_actions_of_other_apps_admins_are_in_the_history_and_the_audit(client, manager, member):
    """A social-share approval in the campaigns admin: the ledger gets the points, and admin
    history and audit record who ran the action."""
    from campaigns.models import ActionRule, Activity

    rule, _ = ActionRule.objects.update_or_create(
        kind=ActionRule.Kind.SOCIAL_SHARE, defaults={"name": "Share", "points": 40, "requires_approval": True}
    )
    activity = Activity.objects.create(
        member=member, rule=rule, key="share-1", external_id="share-1", status=Activity.Status.PENDING,
        url="https://example.org/post/1",
    )  # fmt: skip
    client.force_login(manager)

    client.post(
        admin_url("campaigns_activity_changelist"), {"action": "approve", "_selected_action": [activity.pk]}
    )

    assert LedgerEntry.objects.get(member=member).points == 40
    log = LogEntry.objects.get(content_type__model="activity", object_id=str(activity.pk))
    assert log.user == manager and log.change_message.startswith("Admin action: Approve")
    assert AuditEvent.objects.filter(
        action="admin_changed", actor=manager, details__model="campaigns.activity"
    ).exists()
    assert AuditEvent.objects.filter(action="activity_approved", actor=manager).exists()


def test_actions_that_write_their_own_history_are_not_logged_twice(client, manager, second_manager, member):
    from loyalty_site.staff.services import adjustment_request

    request = adjustment_request(member_id=member.pk, points=3000, reason="Goodwill", requested_by=manager)
    client.force_login(second_manager)

    client.post(
        admin_url("staff_adjustmentrequest_changelist"),
        {"action": "approve", "_selected_action": [request.pk]},
    )

    assert list(
        LogEntry.objects.filter(object_id=str(request.pk)).values_list("change_message", flat=True)
    ) == ["Approved and posted"]


def test_every_admin_action_names_the_permission_it_needs():
    """An action of ours with no ``permissions`` would show to anyone who can view the list:
    each names the change permission, or a narrower one of its own."""
    from django.contrib import admin

    ours = {"members", "campaigns", "rewards", "staff"}
    unguarded = [
        f"{model._meta.label}.{name}"
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in ours
        for name in model_admin.actions or []
        if not getattr(getattr(model_admin, name, None), "allowed_permissions", None)
    ]
    assert unguarded == []


def test_staff_who_may_only_view_are_offered_no_action_anywhere(rf):
    """Given staff holding every view permission and nothing else, no list in any app (allauth's
    email addresses too) offers an action."""
    from django.contrib import admin
    from django.contrib.auth.models import Permission

    viewer = factories.UserFactory(email="viewer@example.org", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    request = rf.get("/admin/")
    request.user = type(viewer).objects.get(pk=viewer.pk)

    offered = {
        model._meta.label: sorted(model_admin.get_actions(request))
        for model, model_admin in admin.site._registry.items()
        if model_admin.get_actions(request)
    }
    assert offered == {}


def test_a_support_agent_cannot_cancel_a_redemption_from_the_list(client, agent, member):
    """Given a support agent (who may view redemptions) posting the cancel action by hand, the
    redemption stays issued and no point moves."""
    from rewards.models import Redemption, Reward
    from rewards.services import reward_redeem
    from tests.rewards.support import fund

    Reward.objects.create(code="free-coffee", name="A free coffee", kind="free_product", points_cost=150)
    fund(member, 150, "p")
    redemption = reward_redeem(member_id=member.pk, reward_code="free-coffee", notify=False).redemption
    client.force_login(agent)
    changelist = admin_url("rewards_redemption_changelist")

    action_form = client.get(changelist).context["action_form"]
    actions = dict(action_form.fields["action"].choices) if action_form else {}
    assert "cancel" not in actions and "fulfil" not in actions
    client.post(changelist, {"action": "cancel", "_selected_action": [redemption.pk]})

    assert Redemption.objects.get(pk=redemption.pk).status == Redemption.Status.ISSUED
    assert LedgerEntry.objects.filter(member=member, kind=LedgerEntry.Kind.REVERSAL).count() == 0
