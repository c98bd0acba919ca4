"""Admin: the catalog (with stock), the redemption queue (fulfil, cancel) and vouchers. Actions
are thin: each calls one service per row and reports what it refused."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from members.errors import LoyaltyError

from . import services
from .models import Redemption, Reward, Voucher


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "category",
        "points_cost",
        "cash_value",
        "stock_display",
        "min_tier",
        "per_member_limit",
        "available_from",
        "available_until",
        "is_featured",
        "is_active",
    ]
    list_editable = ["is_featured", "is_active"]
    list_filter = ["is_active", "is_featured", "kind", "category", "min_tier"]
    list_select_related = ["min_tier"]
    search_fields = ["code", "name", "category", "sku"]
    prepopulated_fields = {"code": ["name"]}
    readonly_fields = ["image_preview", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "category", "description", "image", "image_preview"]}),
        (
            gettext_lazy("Cost and value"),
            {"fields": ["points_cost", "cash_value", "discount_percent", "sku"]},
        ),
        (gettext_lazy("Experience"), {"fields": ["event_starts_at", "venue"], "classes": ["collapse"]}),
        (
            gettext_lazy("Who and when"),
            {
                "fields": [
                    "stock",
                    "per_member_limit",
                    "min_tier",
                    "available_from",
                    "available_until",
                    "is_featured",
                    "is_active",
                ]
            },
        ),
        (gettext_lazy("Paid plans"), {"fields": ["members_of_plan", "monthly_for_plan"]}),
        (gettext_lazy("Dates"), {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description=gettext_lazy("stock"), ordering="stock")
    def stock_display(self, reward: Reward) -> str:
        return _("unlimited") if reward.stock is None else str(reward.stock)

    @admin.display(description=gettext_lazy("preview"))
    def image_preview(self, reward: Reward) -> str:
        if not reward.image:
            return "-"
        return format_html('<img src="{}" alt="" height="120">', reward.image_url)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A redeemed reward is history; withdraw it with "active" instead.
        return super().has_delete_permission(request, obj) and (obj is None or not obj.redemptions.exists())


class RedemptionAdminBase(admin.ModelAdmin):
    list_select_related = ["member", "reward"]
    readonly_fields = [
        "member",
        "reward",
        "status",
        "points_spent",
        "points_returned",
        "cash_value",
        "voucher_code",
        "expires_at",
        "store",
        "created_by",
        "created_at",
        "used_at",
        "used_store",
        "used_by",
        "cancelled_at",
        "expired_at",
        "idempotency_key",
    ]
    fields = readonly_fields
    actions = ["fulfil", "cancel"]

    def has_add_permission(self, request) -> bool:
        return False  # redemptions are made by members (portal) and stores (API), through the service

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def _each(self, request, queryset, call) -> int:
        """Calls ``call`` on each redemption and says what it refused; returns how many succeeded."""
        succeeded = 0
        for redemption in queryset.order_by("pk"):
            try:
                call(redemption)
                succeeded += 1
            except LoyaltyError as exc:
                self.message_user(
                    request,
                    _("%(voucher_code)s: %(error)s")
                    % {"voucher_code": redemption.voucher_code, "error": exc.message},
                    messages.WARNING,
                )
        return succeeded

    @admin.action(description=gettext_lazy("Fulfil (hand over: the voucher is used)"), permissions=["change"])
    def fulfil(self, request, queryset) -> None:
        fulfilled = self._each(
            request,
            queryset,
            lambda r: services.redemption_fulfil(redemption_id=r.pk, staff_user=request.user),
        )
        if fulfilled:
            self.message_user(
                request,
                ngettext("%(count)s redemption fulfilled.", "%(count)s redemptions fulfilled.", fulfilled)
                % {"count": fulfilled},
                messages.SUCCESS,
            )

    @admin.action(description=gettext_lazy("Cancel (points and stock are returned)"), permissions=["change"])
    def cancel(self, request, queryset) -> None:
        cancelled = self._each(
            request,
            queryset,
            lambda r: services.redemption_cancel(redemption_id=r.pk, actor=request.user, reason="admin"),
        )
        if cancelled:
            self.message_user(
                request,
                ngettext("%(count)s redemption cancelled.", "%(count)s redemptions cancelled.", cancelled)
                % {"count": cancelled},
                messages.SUCCESS,
            )


@admin.register(Redemption)
class RedemptionAdmin(RedemptionAdminBase):
    list_display = [
        "id",
        "created_at",
        "member",
        "reward",
        "points_spent",
        "status",
        "voucher_code",
        "expires_at",
        "store",
    ]
    list_filter = ["status", "reward__kind", "reward", "store"]
    search_fields = ["voucher_code", "member__member_number", "member__email", "reward__code"]
    date_hierarchy = "created_at"


@admin.register(Voucher)
class VoucherAdmin(RedemptionAdminBase):
    list_display = ["voucher_code", "reward", "member", "status", "expires_at", "used_at", "used_store"]
    list_filter = ["status", "reward"]
    search_fields = ["voucher_code", "member__member_number", "member__email"]
    actions = ["fulfil", "cancel"]

    def get_search_results(self, request, queryset, search_term):
        # A code as the cashier typed it (any case, spaces or no dashes) finds the voucher.
        from .models import normalise_voucher_code

        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        normalised = normalise_voucher_code(search_term)
        if normalised and normalised != search_term:
            queryset |= self.model.objects.filter(voucher_code=normalised)
        return queryset, may_have_duplicates
