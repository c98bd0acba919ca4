"""Admin for the core. Points never change here except through an adjustment (a form that asks
for a reason and calls the staff adjustment service, which posts through
``members.ledger.services.points_adjust``); the ledger itself is read-only. Store managers see
only their own stores' purchases, refunds and keys."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from loyalty_site.staff.access import scope_to_stores, staff_store_ids

from .errors import LoyaltyError
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
    """The latest entries; the whole history is in the ledger entries list, by member."""

    model = LedgerEntry
    verbose_name_plural = "latest ledger entries"
    fields = ["created_at", "kind", "points", "balance_after", "source_type", "source_id", "description"]
    readonly_fields = fields
    ordering = ["-created_at", "-id"]
    max_num = 0
    shown = 50

    def get_queryset(self, request):
        entries = super().get_queryset(request)
        member_id = request.resolver_match.kwargs.get("object_id") if request.resolver_match else None
        if member_id and str(member_id).isdigit():
            latest = LedgerEntry.objects.filter(member_id=member_id).order_by("-created_at", "-id")
            entries = entries.filter(pk__in=latest.values("pk")[: self.shown])
        return entries


class PointLotInline(ReadOnlyInline):
    model = PointLot
    verbose_name_plural = "open point lots"
    fields = ["created_at", "points", "remaining", "is_pending", "available_at", "expires_at"]
    readonly_fields = fields
    ordering = ["expires_at", "id"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).filter(remaining__gt=0)


class ReadOnlyAdmin(admin.ModelAdmin):
    """History: looked at, never added, changed or deleted by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class AdjustmentForm(forms.Form):
    points = forms.IntegerField(
        help_text="Points to add; a negative number removes points. Zero is not an adjustment."
    )
    reason = forms.CharField(
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why: the member sees it in their history.",
    )

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError("An adjustment is not zero points.")
        return points


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
        "last_activity_at",
    ]
    list_filter = ["tier", "status"]
    search_fields = ["=member_number", "email", "phone", "last_name"]
    list_select_related = ["tier"]
    readonly_fields = [
        "member_number",
        "tier",
        "points_available",
        "points_pending",
        "tier_achieved_at",
        "tier_held_until",
        "last_activity_at",
        "referral_code",
        "enrolled_at",
        "enrolled_store",
    ]
    raw_id_fields = ["user", "referred_by"]
    inlines = [PointLotInline, LedgerEntryInline]
    actions = ["resend_verification_mail"]
    change_form_template = "admin/members/member/change_form.html"

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a member's history is kept; close the membership instead

    def get_urls(self):
        adjust = path(
            "<int:member_id>/adjust/",
            self.admin_site.admin_view(self.adjust_view),
            name="members_member_adjust",
        )
        return [adjust, *super().get_urls()]

    def adjust_view(self, request, member_id: int):
        from loyalty_site.models import AdjustmentRequest
        from loyalty_site.services import adjustment_request

        if not request.user.has_perm("loyalty_site.add_adjustmentrequest"):
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
                if adjustment.status == AdjustmentRequest.Status.APPLIED:
                    self.message_user(request, f"{adjustment.points:+d} points posted to {member}.")
                else:
                    self.message_user(
                        request,
                        f"{adjustment.points:+d} points is above {program.adjustment_approval_threshold}: "
                        "the adjustment waits for a second staff member to approve it.",
                        messages.WARNING,
                    )
                return redirect(reverse("admin:members_member_change", args=[member.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adjust points of {member}",
            "member": member,
            "form": form,
            "threshold": program.adjustment_approval_threshold,
            "opts": self.model._meta,
            "original": member,
        }
        return TemplateResponse(request, "admin/members/member/adjust.html", context)

    @admin.action(description="Resend the email-verification mail", permissions=["resend_mail"])
    def resend_verification_mail(self, request, queryset):
        from loyalty_site.services import member_mail_resend

        sent = 0
        for member in queryset:
            try:
                member_mail_resend(member_id=member.pk, staff_user=request.user, request=request)
            except LoyaltyError as error:
                self.message_user(request, f"{member}: {error.message}", messages.WARNING)
            else:
                sent += 1
                self.log_change(request, member, "Email-verification mail resent")
        self.message_user(request, f"Mail resent to {sent} member(s).")

    resend_verification_mail.logs_history = True

    def has_resend_mail_permission(self, request) -> bool:
        return request.user.has_perm("loyalty_site.resend_member_mail")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "member",
        "kind",
        "points",
        "balance_after",
        "source_type",
        "source_id",
        "created_by",
    ]
    list_filter = ["kind", "source_type"]
    search_fields = ["=member__member_number", "member__email", "idempotency_key", "source_id"]
    list_select_related = ["member", "created_by"]
    date_hierarchy = "created_at"


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    """The one settings row: the list goes straight to it."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        program = Program.load()
        return redirect(reverse("admin:members_program_change", args=[program.pk]))


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    """Thresholds and multipliers of existing tiers change on the staff what-if page, where
    their effect on members and liability is seen before they are published."""

    list_display = ["rank", "code", "name", "threshold", "multiplier"]
    ordering = ["rank"]

    def get_readonly_fields(self, request, obj=None):
        return ["threshold", "multiplier"] if obj else []

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["subtitle"] = "Thresholds and multipliers change on the staff tier what-if page."
        return super().render_change_form(request, context, add, change, form_url, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # members and history point at tiers


class StoreScopedAdmin(admin.ModelAdmin):
    """Store managers see only the rows of the stores they manage."""

    store_lookup = "store"

    def get_queryset(self, request):
        return scope_to_stores(super().get_queryset(request), request.user, lookup=self.store_lookup)


@admin.register(Store)
class StoreAdmin(StoreScopedAdmin):
    list_display = ["name", "code", "is_active", "created_at"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ("name",)}
    store_lookup = "pk"


@admin.register(ApiKey)
class ApiKeyAdmin(StoreScopedAdmin):
    list_display = ["prefix", "store", "name", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["store"]
    fields = ["store", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["store"]
    actions = ["revoke"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the key's history stays

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "store"] if obj else self.readonly_fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "store":
            kwargs["queryset"] = scope_to_stores(Store.objects.all(), request.user, lookup="pk")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        store_ids = staff_store_ids(request.user)
        if store_ids is not None and obj.store_id not in store_ids:
            raise PermissionDenied
        from .api_keys import api_key_create

        key, raw_key = api_key_create(store=obj.store, name=obj.name)
        obj.pk = key.pk
        obj.prefix, obj.digest, obj.created_at = key.prefix, key.digest, key.created_at
        self.message_user(request, f"New key for {obj.store} (shown once, copy it now): {raw_key}")

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request, queryset):
        from .api_keys import api_key_revoke

        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key)
            self.log_change(request, key, "Revoked")
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).")

    revoke.logs_history = True


class PurchaseLineInline(ReadOnlyInline):
    model = PurchaseLine
    fields = ["sku", "category", "quantity", "amount", "points_awarded"]
    readonly_fields = fields


@admin.register(Purchase)
class PurchaseAdmin(StoreScopedAdmin):
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
    search_fields = ["external_id", "=member__member_number", "member__email"]
    list_select_related = ["store", "member"]
    raw_id_fields = ["member"]
    date_hierarchy = "purchased_at"
    inlines = [PurchaseLineInline]

    def has_add_permission(self, request) -> bool:
        return False  # purchases arrive through the API or a bulk import

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Refund)
class RefundAdmin(StoreScopedAdmin, ReadOnlyAdmin):
    list_display = ["external_id", "store", "purchase", "amount", "points_reversed", "created_at"]
    list_filter = ["store"]
    search_fields = ["external_id", "purchase__external_id"]
    list_select_related = ["store", "purchase__store"]


@admin.register(TierChange)
class TierChangeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "member", "from_tier", "to_tier", "reason", "qualifying_value"]
    list_filter = ["reason", "to_tier"]
    search_fields = ["=member__member_number", "member__email"]
    list_select_related = ["member", "from_tier", "to_tier"]
    date_hierarchy = "created_at"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor", "action", "member"]
    list_filter = ["action"]
    search_fields = ["action", "actor__email", "=member__member_number"]
    list_select_related = ["actor", "member"]
    date_hierarchy = "created_at"


from . import admin_jobs  # noqa: E402,F401  (the jobs' admin lives in its own module)
