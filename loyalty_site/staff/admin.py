"""Admin for the staff models, the core's admin where staff rules reach into it, and the history
of admin actions across every app.

The core registers plain admins for members, stores, keys, purchases and refunds; here they are
registered again with what needs the staff side: a member's page gets the points adjustment
(maker-checker) and the mail resend, and a store manager sees only the stores they run.

Django writes the admin history (``LogEntry``) for the add, change and delete forms, but not for
actions run from a change list (approve, cancel, revoke...). This module is imported last (the
app is last in ``INSTALLED_APPS``), so once every app has registered its admin it gives each
model admin's actions one history entry per object they ran on, which ``receivers``
copies into the audit events, and offers an action that names no permission only to staff who
may change the model. An action that writes its own history says so with
``logs_history = True``; the bulk delete is logged by Django itself.
"""

from functools import partial, wraps

from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from members import admin as core_admin
from members.errors import LoyaltyError
from members.models import ApiKey, Member, Program, Purchase, Refund, Store

from .access import scope_to_stores, staff_store_ids
from .forms import AdjustmentForm
from .models import AdjustmentRequest, StoreManager, TierDraft
from .services import adjustment_approve, adjustment_reject, adjustment_request, member_mail_resend


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
        return request.user.has_perm("staff.approve_adjustmentrequest")

    @admin.action(
        description=gettext_lazy("Approve the selected adjustments (posts them)"), permissions=["approve"]
    )
    def approve(self, request, queryset):
        done = self._decide(
            request,
            queryset,
            lambda pk: adjustment_approve(request_id=pk, approver=request.user),
            "Approved and posted",
        )
        if done:
            self.message_user(
                request,
                ngettext(
                    "Approved and posted: %(count)s adjustment.",
                    "Approved and posted: %(count)s adjustments.",
                    done,
                )
                % {"count": done},
            )

    approve.logs_history = True

    @admin.action(description=gettext_lazy("Reject the selected adjustments"), permissions=["approve"])
    def reject(self, request, queryset):
        done = self._decide(
            request, queryset, lambda pk: adjustment_reject(request_id=pk, approver=request.user), "Rejected"
        )
        if done:
            self.message_user(
                request,
                ngettext("Rejected: %(count)s adjustment.", "Rejected: %(count)s adjustments.", done)
                % {"count": done},
            )

    reject.logs_history = True

    def _decide(self, request, queryset, decide, history: str) -> int:
        """Decides each adjustment, writing ``history`` (in English, as all admin history is) for
        each one decided and saying what was refused; returns how many were decided."""
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                adjustment = decide(pk)
            except LoyaltyError as error:
                self.message_user(
                    request,
                    _("Adjustment %(id)s: %(error)s") % {"id": pk, "error": error.message},
                    messages.ERROR,
                )
            else:
                done += 1
                self.log_change(request, adjustment, history)
        return done


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


# --- the core's admin, with the staff rules -------------------------------------------------


class StaffMemberAdmin(core_admin.MemberAdmin):
    actions = ["resend_verification_mail"]
    change_form_template = "admin/members/member/change_form.html"

    def get_urls(self):
        adjust = path(
            "<int:member_id>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="members_member_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_view(self, request, member_id: int):
        if not request.user.has_perm("staff.add_adjustmentrequest"):
            raise PermissionDenied
        member = get_object_or_404(Member.objects.select_related("tier"), pk=member_id)
        program = Program.load()
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                adjustment = adjustment_request(
                    member_id=member.pk,
                    points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                    requested_by=request.user,
                )
            except LoyaltyError as error:
                form.add_error(None, error.message)
            else:
                self.log_change(
                    request,
                    member,
                    f"Points adjustment {adjustment.points:+d} requested: {adjustment.reason}",
                )
                points = abs(adjustment.points)
                if adjustment.status == AdjustmentRequest.Status.APPLIED:
                    self.message_user(
                        request,
                        ngettext(
                            "%(points)s point posted to %(member)s.",
                            "%(points)s points posted to %(member)s.",
                            points,
                        )
                        % {"points": f"{adjustment.points:+d}", "member": member},
                    )
                else:
                    self.message_user(
                        request,
                        ngettext(
                            "%(points)s point is above %(threshold)s: "
                            "the adjustment waits for a second staff member to approve it.",
                            "%(points)s points is above %(threshold)s: "
                            "the adjustment waits for a second staff member to approve it.",
                            points,
                        )
                        % {
                            "points": f"{adjustment.points:+d}",
                            "threshold": program.adjustment_approval_threshold,
                        },
                        messages.WARNING,
                    )
                return redirect(reverse("admin:members_member_change", args=[member.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adjust points of %(member)s") % {"member": member},
            "member": member,
            "form": form,
            "threshold": program.adjustment_approval_threshold,
            "opts": self.model._meta,
            "original": member,
        }
        return TemplateResponse(request, "admin/members/member/adjust.html", context)

    @admin.action(description=gettext_lazy("Resend the email-verification mail"), permissions=["resend_mail"])
    def resend_verification_mail(self, request, queryset):
        sent = 0
        for member in queryset:
            try:
                member_mail_resend(member_id=member.pk, staff_user=request.user, request=request)
            except LoyaltyError as error:
                self.message_user(
                    request,
                    _("%(member)s: %(error)s") % {"member": member, "error": error.message},
                    messages.WARNING,
                )
            else:
                sent += 1
                self.log_change(request, member, "Email-verification mail resent")
        self.message_user(
            request,
            ngettext("Mail resent to %(count)s member.", "Mail resent to %(count)s members.", sent)
            % {"count": sent},
        )

    resend_verification_mail.logs_history = True

    def has_resend_mail_permission(self, request) -> bool:
        return request.user.has_perm("staff.resend_member_mail")


class StoreScoped:
    """Store managers see only the rows of the stores they manage."""

    store_lookup = "store"

    def get_queryset(self, request):
        return scope_to_stores(super().get_queryset(request), request.user, lookup=self.store_lookup)


class StaffStoreAdmin(StoreScoped, core_admin.StoreAdmin):
    store_lookup = "pk"


class StaffApiKeyAdmin(StoreScoped, core_admin.ApiKeyAdmin):
    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "store":
            kwargs["queryset"] = scope_to_stores(Store.objects.all(), request.user, lookup="pk")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        store_ids = staff_store_ids(request.user)
        if not change and store_ids is not None and obj.store_id not in store_ids:
            raise PermissionDenied
        return super().save_model(request, obj, form, change)


class StaffPurchaseAdmin(StoreScoped, core_admin.PurchaseAdmin):
    pass


class StaffRefundAdmin(StoreScoped, core_admin.RefundAdmin):
    pass


for model, model_admin in [
    (Member, StaffMemberAdmin),
    (Store, StaffStoreAdmin),
    (ApiKey, StaffApiKeyAdmin),
    (Purchase, StaffPurchaseAdmin),
    (Refund, StaffRefundAdmin),
]:
    admin.site.unregister(model)
    admin.site.register(model, model_admin)


def _with_history(action, description):
    @wraps(action)
    def run(model_admin, request, queryset):
        objects = list(queryset)
        response = action(model_admin, request, queryset)
        if response is None or isinstance(response, HttpResponseRedirect):
            # The history is kept in English, whatever language the staff member reads admin in.
            with translation.override("en"):
                change_message = f"Admin action: {description}"
            for obj in objects:
                LogEntry.objects.log_actions(
                    user_id=request.user.pk,
                    queryset=[obj],
                    action_flag=CHANGE,
                    change_message=change_message,
                    single_object=True,
                )
        return response

    run.logs_history = True
    return run


def _guarded_actions_with_history(model_admin, get_actions, request):
    """The actions ``request.user`` may run, each leaving history. An action that names no
    permission of its own (another app's, say) needs the change permission: seeing a list is
    never enough to change what is in it."""
    actions = get_actions(request)
    may_change = model_admin.has_change_permission(request)
    for name, (func, _func_name, description) in list(actions.items()):
        if name == "delete_selected":
            continue
        if not getattr(func, "allowed_permissions", None) and not may_change:
            del actions[name]
        elif not getattr(func, "logs_history", False):
            actions[name] = (_with_history(func, description), name, description)
    return actions


def record_admin_actions(site: admin.AdminSite) -> None:
    for model_admin in site._registry.values():
        if not getattr(model_admin, "_actions_recorded", False):
            model_admin.get_actions = partial(
                _guarded_actions_with_history, model_admin, model_admin.get_actions
            )
            model_admin._actions_recorded = True


record_admin_actions(admin.site)
