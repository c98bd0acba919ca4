from django.contrib import admin, messages
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

    @admin.action(description="Reject the selected adjustments", permissions=["approve"])
    def reject(self, request, queryset):
        self._decide(
            request, queryset, lambda pk: adjustment_reject(request_id=pk, approver=request.user), "Rejected"
        )

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
