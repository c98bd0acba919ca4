"""Admin for the staff models, and the history of admin actions across every app.

Django writes the admin history (``LogEntry``) for the add, change and delete forms, but not for
actions run from a change list (approve, cancel, revoke...). This module is imported last (the
app is last in ``INSTALLED_APPS``), so once every app has registered its admin it gives each
model admin's actions one history entry per object they ran on, which ``loyalty_site.signals``
copies into the audit events. An action that writes its own history says so with
``logs_history = True``; the bulk delete is logged by Django itself.
"""

from functools import partial, wraps

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.http import HttpResponseRedirect
from django.utils import timezone

from members.errors import LoyaltyError

from .models import AdjustmentRequest, StoreManager, TierDraft
from .services import adjustment_approve, adjustment_reject


@admin.register(AdjustmentRequest)
class AdjustmentRequestAdmin(admin.ModelAdmin):
    """Adjustments are requested from a member's page; here a second staff member approves or
    rejects the large ones."""

    list_display = [
        "requested_at",
        "member",
        "points",
        "reason",
        "status",
        "requested_by",
        "approved_by",
        "decided_at",
    ]
    list_filter = ["status", "needs_approval"]
    search_fields = ["=member__member_number", "member__email", "reason", "requested_by__email"]
    list_select_related = ["member", "requested_by", "approved_by"]
    readonly_fields = [
        "member",
        "points",
        "reason",
        "status",
        "needs_approval",
        "requested_by",
        "requested_at",
        "approved_by",
        "decided_at",
        "decision_note",
        "entry",
    ]
    actions = ["approve", "reject"]
    date_hierarchy = "requested_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm("loyalty_site.approve_adjustmentrequest")

    @admin.action(description="Approve the selected adjustments (posts them)", permissions=["approve"])
    def approve(self, request, queryset):
        self._decide(
            request,
            queryset,
            lambda pk: adjustment_approve(request_id=pk, approver=request.user),
            "Approved and posted",
        )

    approve.logs_history = True

    @admin.action(description="Reject the selected adjustments", permissions=["approve"])
    def reject(self, request, queryset):
        self._decide(
            request, queryset, lambda pk: adjustment_reject(request_id=pk, approver=request.user), "Rejected"
        )

    reject.logs_history = True

    def _decide(self, request, queryset, decide, verb: str) -> None:
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                adjustment = decide(pk)
            except LoyaltyError as error:
                self.message_user(request, f"Adjustment {pk}: {error.message}", messages.ERROR)
            else:
                done += 1
                self.log_change(request, adjustment, verb)
        if done:
            self.message_user(request, f"{verb}: {done} adjustment(s).")


@admin.register(StoreManager)
class StoreManagerAdmin(admin.ModelAdmin):
    list_display = ["user", "store", "created_at"]
    list_filter = ["store"]
    search_fields = ["user__email", "store__name"]
    list_select_related = ["user", "store"]
    raw_id_fields = ["user"]
    fields = ["user", "store"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(TierDraft)
class TierDraftAdmin(admin.ModelAdmin):
    """Drafts are edited on the staff what-if page; here they are history."""

    list_display = ["pk", "created_by", "updated_at", "published_by", "published_at"]
    list_select_related = ["created_by", "published_by"]
    readonly_fields = ["tiers", "created_by", "created_at", "updated_at", "published_by", "published_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


def _with_history(action, description: str):
    @wraps(action)
    def run(model_admin, request, queryset):
        objects = list(queryset)
        response = action(model_admin, request, queryset)
        if response is None or isinstance(response, HttpResponseRedirect):
            for obj in objects:
                LogEntry.objects.log_actions(
                    user_id=request.user.pk,
                    queryset=[obj],
                    action_flag=CHANGE,
                    change_message=f"Admin action: {description}",
                    single_object=True,
                )
        return response

    run.logs_history = True
    return run


def _actions_with_history(get_actions, request):
    actions = get_actions(request)
    for name, (func, _, description) in list(actions.items()):
        if name != "delete_selected" and not getattr(func, "logs_history", False):
            actions[name] = (_with_history(func, str(description)), name, description)
    return actions


def record_admin_actions(site: admin.AdminSite) -> None:
    for model_admin in site._registry.values():
        if not getattr(model_admin, "_actions_recorded", False):
            model_admin.get_actions = partial(_actions_with_history, model_admin.get_actions)
            model_admin._actions_recorded = True


record_admin_actions(admin.site)
