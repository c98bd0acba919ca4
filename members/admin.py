from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import (
    ApiKey,
    AuditEvent,
    LedgerEntry,
    Member,
    PointLot,
    Program,
    Purchase,
    PurchaseLine,
    Refund,
    Store,
    Tier,
    TierChange,
    User,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class LedgerEntryInline(ReadOnlyInline):
    model = LedgerEntry
    fields = ["created_at", "kind", "points", "balance_after", "source_type", "source_id", "description"]
    ordering = ["-created_at", "-id"]
    max_num = 0


class PointLotInline(ReadOnlyInline):
    model = PointLot
    fields = ["created_at", "points", "remaining", "is_pending", "available_at", "expires_at"]
    ordering = ["expires_at", "id"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).filter(remaining__gt=0)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = [
        "member_number",
        "email",
        "full_name",
        "tier",
        "status",
        "points_available",
        "points_pending",
    ]
    list_filter = ["tier", "status"]
    search_fields = ["member_number", "email", "phone", "last_name"]
    list_select_related = ["tier"]
    readonly_fields = [
        "member_number",
        "points_available",
        "points_pending",
        "tier_achieved_at",
        "tier_held_until",
        "last_activity_at",
        "referral_code",
        "enrolled_at",
    ]
    raw_id_fields = ["user", "referred_by"]
    inlines = [PointLotInline, LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "member", "kind", "points", "balance_after", "source_type", "source_id"]
    list_filter = ["kind", "source_type"]
    search_fields = ["member__member_number", "member__email", "idempotency_key", "source_id"]
    list_select_related = ["member"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return not Program.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["rank", "code", "name", "threshold", "multiplier"]
    ordering = ["rank"]


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_active", "created_at"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ("name",)}


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "store", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["store"]
    fields = ["store", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        from .api_keys import api_key_create

        key, raw_key = api_key_create(store=obj.store, name=obj.name)
        obj.pk = key.pk
        obj.prefix, obj.digest, obj.created_at = key.prefix, key.digest, key.created_at
        self.message_user(request, f"New key for {obj.store} (shown once, copy it now): {raw_key}")

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        from .api_keys import api_key_revoke

        for key in queryset:
            api_key_revoke(key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")


class PurchaseLineInline(ReadOnlyInline):
    model = PurchaseLine
    fields = ["sku", "category", "quantity", "amount", "points_awarded"]


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    list_display = [
        "external_id",
        "store",
        "member",
        "amount",
        "points_awarded",
        "purchased_at",
        "refunded_amount",
    ]
    list_filter = ["store"]
    search_fields = ["external_id", "member__member_number", "member__email"]
    list_select_related = ["store", "member"]
    raw_id_fields = ["member"]
    inlines = [PurchaseLineInline]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = ["external_id", "store", "purchase", "amount", "points_reversed", "created_at"]
    list_select_related = ["store", "purchase"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TierChange)
class TierChangeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "member", "from_tier", "to_tier", "reason"]
    list_filter = ["reason", "to_tier"]
    list_select_related = ["member", "from_tier", "to_tier"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "member"]
    list_filter = ["action"]
    list_select_related = ["actor", "member"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
