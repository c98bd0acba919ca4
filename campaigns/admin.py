"""Staff manage campaigns and action rules, review activities, follow referrals and upload
purchase imports. Actions call services; nothing here writes points itself."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from members.admin_base import ReadOnlyAdmin
from members.errors import LoyaltyError
from members.models import Store

from .models import ActionRule, Activity, Award, Campaign, PurchaseImport, PurchaseImportError, Referral
from .services import activity_approve, activity_reject, purchase_import_create
from .services.imports import missing_columns


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "code",
        "kind",
        "starts_at",
        "ends_at",
        "priority",
        "exclusive",
        "spent_points",
        "budget_points",
        "is_active",
        "settled_at",
    ]
    list_filter = ["kind", "is_active", "exclusive", "retroactive"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    filter_horizontal = ["tiers", "stores"]
    readonly_fields = ["spent_points", "settled_at", "created_at"]
    date_hierarchy = "starts_at"
    fieldsets = [
        (None, {"fields": ["name", "code", "description", "kind", "is_active"]}),
        (gettext_lazy("What it gives"), {"fields": ["multiplier", "bonus_points", "threshold_amount"]}),
        (
            gettext_lazy("When and for whom"),
            {"fields": ["starts_at", "ends_at", "tiers", "stores", "categories", "skus"]},
        ),
        (
            gettext_lazy("Limits"),
            {
                "fields": [
                    "min_spend",
                    "per_member_cap",
                    "budget_points",
                    "spent_points",
                    "priority",
                    "exclusive",
                ]
            },
        ),
        (gettext_lazy("Settlement"), {"fields": ["retroactive", "settled_at", "created_at"]}),
    ]


@admin.register(ActionRule)
class ActionRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "points", "requires_approval", "limit_count", "limit_period", "is_active"]
    list_editable = ["points", "is_active"]
    list_filter = ["is_active", "requires_approval"]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["created_at", "member", "rule", "status", "points_awarded", "url", "store"]
    list_filter = ["status", "rule"]
    search_fields = ["member__member_number", "member__email", "external_id", "url"]
    list_select_related = ["member", "rule", "store"]
    readonly_fields = [f.name for f in Activity._meta.fields]
    actions = ["approve", "reject"]

    def has_add_permission(self, request) -> bool:
        return False

    def _review(self, request, queryset, service) -> int:
        """Runs ``service`` on each pending activity and says what it refused; returns how many
        it reviewed."""
        done = 0
        for activity_id in queryset.filter(status=Activity.Status.PENDING).values_list("pk", flat=True):
            try:
                service(activity_id=activity_id, staff_user=request.user)
                done += 1
            except LoyaltyError as error:
                self.message_user(
                    request,
                    _("Activity %(id)s: %(error)s") % {"id": activity_id, "error": error.message},
                    messages.WARNING,
                )
        return done

    @admin.action(description=gettext_lazy("Approve (the member gets the points)"), permissions=["change"])
    def approve(self, request, queryset) -> None:
        done = self._review(request, queryset, activity_approve)
        self.message_user(
            request,
            ngettext("%(count)s activity approved.", "%(count)s activities approved.", done)
            % {"count": done},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Reject"), permissions=["change"])
    def reject(self, request, queryset) -> None:
        done = self._review(request, queryset, activity_reject)
        self.message_user(
            request,
            ngettext("%(count)s activity rejected.", "%(count)s activities rejected.", done)
            % {"count": done},
            messages.SUCCESS,
        )


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "referrer",
        "referred",
        "status",
        "reason",
        "referrer_points",
        "referred_points",
    ]
    list_filter = ["status", "reason"]
    search_fields = ["referrer__email", "referred__email", "referrer__member_number"]
    list_select_related = ["referrer", "referred"]
    readonly_fields = [f.name for f in Referral._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Award)
class AwardAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "member", "source", "points", "purchase", "campaign"]
    list_filter = ["campaign"]
    search_fields = ["member__member_number", "source"]
    list_select_related = ["member", "purchase", "campaign"]
    readonly_fields = [f.name for f in Award._meta.fields]


class PurchaseImportForm(forms.ModelForm):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "CSV with the columns member, external_id, amount, purchased_at "
            "and optionally currency, sku, category."
        ),
    )
    store = forms.ModelChoiceField(queryset=Store.objects.filter(is_active=True), label=gettext_lazy("Store"))

    class Meta:
        model = PurchaseImport
        fields = ["store"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        try:
            self.cleaned_data["content"] = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(_("The file must be UTF-8 text.")) from None
        if missing := missing_columns(self.cleaned_data["content"]):
            raise forms.ValidationError(
                ngettext(
                    "The CSV lacks the column: %(columns)s.",
                    "The CSV lacks the columns: %(columns)s.",
                    len(missing),
                )
                % {"columns": ", ".join(missing)}
            )
        return upload


class PurchaseImportErrorInline(admin.TabularInline):
    model = PurchaseImportError
    extra = 0
    can_delete = False
    readonly_fields = ["row_number", "external_id", "reason"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PurchaseImport)
class PurchaseImportAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "file_name",
        "store",
        "status",
        "progress",
        "rows_accepted",
        "rows_rejected",
    ]
    list_filter = ["status"]
    inlines = [PurchaseImportErrorInline]

    def get_inlines(self, request, obj=None):
        return self.inlines if obj is not None else []

    @admin.display(description=gettext_lazy("Progress"))
    def progress(self, obj: PurchaseImport) -> str:
        return f"{obj.rows_done}/{obj.rows_total}"

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = PurchaseImportForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [
            "store",
            "file_name",
            "status",
            "progress",
            "rows_total",
            "rows_done",
            "rows_accepted",
            "rows_rejected",
            "created_by",
            "created_at",
            "finished_at",
        ]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["store", "file"]
        return self.get_readonly_fields(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        if change:
            return
        try:
            created = purchase_import_create(
                store=form.cleaned_data["store"],
                content=form.cleaned_data["content"],
                file_name=form.cleaned_data["file"].name,
                created_by=request.user,
            )
        except LoyaltyError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        obj.pk = created.pk
        obj.refresh_from_db()


# Segments and offers have their own module; importing it registers them.
from . import admin_offers  # noqa: E402,F401
from .engagement import admin as engagement_admin  # noqa: E402, F401  (challenges, badges, events)
