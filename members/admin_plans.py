"""Admin for paid plans, memberships, transfers and households. Memberships and transfers are
history (stores sell plans over the API; members send points in the portal): staff change no
field, but cancel a membership or stop it renewing, and reverse a transfer, each with a reason
(audited), and group members into households."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .admin_base import ReadOnlyAdmin
from .errors import LoyaltyError
from .memberships import membership_cancel_by_staff, membership_renewal_stop
from .models import Household, HouseholdMember, Membership, MembershipPlan, Transfer
from .transfers import transfer_reverse


def _each_row(modeladmin, request, rows, act, refused: str) -> int:
    """Run ``act(row)`` for each row; a row the service refuses gets an error message
    (``refused`` with its ``id`` and ``error``) and the others go on. Returns how many went."""
    done = 0
    for row in rows:
        try:
            act(row)
        except LoyaltyError as error:
            modeladmin.message_user(request, refused % {"id": row.pk, "error": error.message}, messages.ERROR)
        else:
            done += 1
    return done


@admin.register(MembershipPlan)
class MembershipPlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "price",
        "term_months",
        "min_tier",
        "earn_multiplier",
        "auto_renew",
        "is_active",
    ]
    list_filter = ["is_active", "auto_renew"]
    search_fields = ["code", "name"]
    prepopulated_fields = {"code": ["name"]}


class CancelForm(forms.Form):
    reason = forms.CharField(max_length=255, label=gettext_lazy("Why are these memberships cancelled?"))


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["member", "plan", "status", "starts_at", "ends_at", "price", "store", "auto_renew"]
    list_filter = ["status", "plan", "auto_renew"]
    search_fields = ["=member__member_number", "member__email", "external_id"]
    list_select_related = ["member", "plan", "store"]
    date_hierarchy = "starts_at"
    actions = ["cancel_now", "stop_renewal"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Needed to run the actions; the fields stay read-only.
        return request.user.has_perm("members.change_membership")

    def get_fields(self, request, obj=None):
        return [field.name for field in Membership._meta.fields if field.name != "id"]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.action(
        description=gettext_lazy("Cancel the selected memberships now: benefits end now (asks for a reason)"),
        permissions=["change"],
    )
    def cancel_now(self, request, queryset):
        form = CancelForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return render(
                request,
                "admin/members/membership/cancel.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Cancel memberships"),
                    "memberships": queryset.select_related("member", "plan"),
                    "form": form,
                    "opts": self.model._meta,
                    "action": "cancel_now",
                },
            )
        cancelled = _each_row(
            self,
            request,
            queryset.filter(status=Membership.Status.ACTIVE),
            lambda membership: membership_cancel_by_staff(
                membership_id=membership.pk, actor=request.user, reason=form.cleaned_data["reason"]
            ),
            _("Membership %(id)s: %(error)s"),
        )
        self.message_user(
            request,
            ngettext("%(count)s membership cancelled.", "%(count)s memberships cancelled.", cancelled)
            % {"count": cancelled},
            messages.SUCCESS,
        )
        return None

    @admin.action(
        description=gettext_lazy("Stop the selected memberships renewing (they run to their end)"),
        permissions=["change"],
    )
    def stop_renewal(self, request, queryset) -> None:
        stopped = _each_row(
            self,
            request,
            queryset.filter(status=Membership.Status.ACTIVE, auto_renew=True).select_related("member"),
            lambda membership: membership_renewal_stop(
                member=membership.member, membership_id=membership.pk, actor=request.user
            ),
            _("Membership %(id)s: %(error)s"),
        )
        self.message_user(
            request,
            ngettext("%(count)s membership will not renew.", "%(count)s memberships will not renew.", stopped)
            % {"count": stopped},
            messages.SUCCESS,
        )


class ReverseForm(forms.Form):
    reason = forms.CharField(max_length=255, label=gettext_lazy("Why are these transfers reversed?"))


@admin.register(Transfer)
class TransferAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "sender", "recipient", "points", "reversed_at", "reversed_by"]
    list_filter = ["reversed_at"]
    search_fields = [
        "=sender__member_number",
        "=recipient__member_number",
        "sender__email",
        "recipient__email",
    ]
    list_select_related = ["sender", "recipient", "reversed_by"]
    readonly_fields = [
        "sender",
        "recipient",
        "points",
        "message",
        "created_at",
        "reversed_at",
        "reversed_by",
        "reversal_reason",
    ]
    actions = ["reverse_transfers"]

    def has_change_permission(self, request, obj=None) -> bool:
        # Needed to run the reversal action; the fields stay read-only.
        return request.user.has_perm("members.change_transfer")

    def get_fields(self, request, obj=None):
        return self.readonly_fields

    @admin.action(
        description=gettext_lazy("Reverse the selected transfers (asks for a reason)"), permissions=["change"]
    )
    def reverse_transfers(self, request, queryset):
        form = ReverseForm(request.POST if "reason" in request.POST else None)
        if not form.is_valid():
            return render(
                request,
                "admin/members/transfer/reverse.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Reverse transfers"),
                    "transfers": queryset.select_related("sender", "recipient"),
                    "form": form,
                    "opts": self.model._meta,
                    "action": "reverse_transfers",
                },
            )
        reversed_count = _each_row(
            self,
            request,
            queryset.filter(reversed_at__isnull=True),
            lambda transfer: transfer_reverse(
                transfer_id=transfer.pk, staff_user=request.user, reason=form.cleaned_data["reason"]
            ),
            _("Transfer %(id)s: %(error)s"),
        )
        self.message_user(
            request,
            ngettext("%(count)s transfer reversed.", "%(count)s transfers reversed.", reversed_count)
            % {"count": reversed_count},
            messages.SUCCESS,
        )
        return None


class HouseholdMemberInline(admin.TabularInline):
    model = HouseholdMember
    extra = 1
    autocomplete_fields = ["member"]
    fields = ["member", "joined_at"]
    readonly_fields = ["joined_at"]


@admin.register(Household)
class HouseholdAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name", "=memberships__member__member_number"]
    inlines = [HouseholdMemberInline]
