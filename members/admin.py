"""Admin for the core: members, the program, tiers, stores and keys, and the ledger's history,
read-only. Points never change here; the staff app (``loyalty_site.staff.admin``) adds the
adjustment form to a member's page, and scopes stores, keys, purchases and refunds to the
stores a store manager runs."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .admin_base import ReadOnlyAdmin, ReadOnlyInline
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


class LedgerEntryInline(ReadOnlyInline):
    """The latest entries; the whole history is in the ledger entries list, by member."""

    model = LedgerEntry
    verbose_name_plural = gettext_lazy("latest ledger entries")
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
    verbose_name_plural = gettext_lazy("open point lots")
    fields = ["created_at", "points", "remaining", "is_pending", "available_at", "expires_at"]
    readonly_fields = fields
    ordering = ["expires_at", "id"]
    max_num = 0

    def get_queryset(self, request):
        return super().get_queryset(request).filter(remaining__gt=0)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (gettext_lazy("Name"), {"fields": ("first_name", "last_name")}),
        (
            gettext_lazy("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (gettext_lazy("Dates"), {"fields": ("last_login", "date_joined")}),
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

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a member's history is kept; erase the personal data instead

    def save_model(self, request, obj, form, change):
        if "birth_date" in form.changed_data:
            # A corrected birthday waits 30 days for its bonus, like one a member sets.
            obj.birth_date_set_at = timezone.now() if obj.birth_date else None
        super().save_model(request, obj, form, change)

    def get_urls(self):
        erase = path(
            "<int:member_id>/erase/",
            self.admin_site.admin_view(self.erase_view),
            name="members_member_erase",
        )
        return [erase, *super().get_urls()]

    def erase_view(self, request, member_id: int):
        """Erase a member's personal data (the right to erasure), after a confirmation with a
        reason. Needs the change permission on members."""
        from .privacy import member_erase

        member = get_object_or_404(Member, pk=member_id)
        if not self.has_change_permission(request, member):
            raise PermissionDenied
        form = EraseForm(request.POST or None)
        if request.method == "POST" and form.is_valid() and member.status != Member.Status.ERASED:
            member = member_erase(member_id=member.pk, actor=request.user, reason=form.cleaned_data["reason"])
            self.log_change(request, member, "Personal data erased")
            self.message_user(
                request, _("Member %(id)s's personal data is erased.") % {"id": member.pk}, messages.SUCCESS
            )
            return redirect(reverse("admin:members_member_change", args=[member.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase %(member)s") % {"member": member},
            "member": member,
            "form": form,
            "opts": self.model._meta,
            "original": member,
        }
        return TemplateResponse(request, "admin/members/member/erase.html", context)


class EraseForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Reason"),
        help_text=gettext_lazy("Why (the member's request, its date and channel). Kept in the audit log."),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I understand this cannot be undone"),
        help_text=gettext_lazy(
            "Their points are forfeited, their login removed and their personal data replaced."
        ),
    )


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
            context["subtitle"] = _("Thresholds and multipliers change on the staff tier what-if page.")
        return super().render_change_form(request, context, add, change, form_url, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # members and history point at tiers


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_partner", "is_active", "max_purchase_amount", "created_at"]
    list_filter = ["is_partner", "is_active"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ("name",)}
    fieldsets = [
        (None, {"fields": ["name", "code", "is_active"]}),
        (
            gettext_lazy("Trust and limits"),
            {
                "fields": ["is_partner", "max_purchase_amount", "max_backdate_hours"],
                "description": gettext_lazy(
                    "A partner sees personal data only of members it enrolled or sold to, "
                    "only its own entries of a member's history, and redeems only with the code from the "
                    "member's card. Every store posts purchases up to its largest amount; only partners "
                    "are held to the backdating limit."
                ),
            },
        ),
    ]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
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

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        from .api_keys import api_key_create

        key, raw_key = api_key_create(store=obj.store, name=obj.name)
        obj.pk = key.pk
        obj.prefix, obj.digest, obj.created_at = key.prefix, key.digest, key.created_at
        self.message_user(
            request,
            _("New key for %(store)s (shown once, copy it now): %(key)s")
            % {"store": obj.store, "key": raw_key},
        )

    @admin.action(description=gettext_lazy("Revoke the selected keys"), permissions=["change"])
    def revoke(self, request, queryset):
        from .api_keys import api_key_revoke

        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key)
            self.log_change(request, key, "Revoked")
            revoked += 1
        self.message_user(
            request,
            ngettext("Revoked %(count)s key.", "Revoked %(count)s keys.", revoked) % {"count": revoked},
        )

    revoke.logs_history = True


class PurchaseLineInline(ReadOnlyInline):
    model = PurchaseLine
    fields = ["sku", "category", "quantity", "amount", "points_awarded"]
    readonly_fields = fields


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
class RefundAdmin(ReadOnlyAdmin):
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


# The jobs' admin, and paid plans, memberships, transfers and households, live in their own modules.
from . import admin_jobs, admin_plans  # noqa: E402,F401
from .webhooks import admin as webhooks_admin  # noqa: E402,F401  (the webhooks' admin lives with them)
