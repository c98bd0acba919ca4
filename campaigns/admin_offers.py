"""Staff define segments (conditions, a live count and sample, refresh on demand) and offers
(an uploaded list of members, the offer's figures, its mail). Actions call services."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from .models import Offer, OfferActivation, Segment, SegmentCondition
from .offers import offer_figures, offer_targets_upload
from .segments import segment_preview, segment_sample


class SegmentConditionInline(admin.TabularInline):
    model = SegmentCondition
    extra = 1
    fields = ["group", "field", "operator", "number", "days", "text", "negate"]


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_active", "member_count", "refreshed_at"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    readonly_fields = ["member_count", "refreshed_at", "matching_now", "sample"]
    inlines = [SegmentConditionInline]
    actions = ["refresh_now"]
    fieldsets = [
        (None, {"fields": ["name", "code", "description", "is_active"]}),
        (gettext_lazy("Members"), {"fields": ["member_count", "refreshed_at", "sample", "matching_now"]}),
    ]

    @admin.display(description=gettext_lazy("Sample (as last refreshed)"))
    def sample(self, obj: Segment) -> str:
        if not obj.pk:
            return "-"
        members = segment_sample(obj)
        return format_html_join(", ", "{} ({})", ((m.member_number, m.email) for m in members)) or "-"

    @admin.display(description=gettext_lazy("Matching now (live)"))
    def matching_now(self, obj: Segment) -> str:
        if not obj.pk:
            return "-"
        count, members = segment_preview(obj, sample=5)
        numbers = ", ".join(m.member_number for m in members)
        if not numbers:
            return ngettext("%(count)s member", "%(count)s members", count) % {"count": count}
        return ngettext("%(count)s member: %(numbers)s", "%(count)s members: %(numbers)s", count) % {
            "count": count,
            "numbers": numbers,
        }

    @admin.action(
        description=gettext_lazy("Refresh the members of every segment now"), permissions=["change"]
    )
    def refresh_now(self, request, queryset) -> None:
        from .tasks import segments_refresh_task

        transaction.on_commit(lambda: segments_refresh_task.delay())
        messages.success(request, _("The segment refresh is queued; counts update when it finishes."))


class OfferTargetsForm(forms.ModelForm):
    member_numbers = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label=gettext_lazy("Member numbers"),
        help_text=gettext_lazy(
            "Add members to the offer's list: member numbers, one per line or comma-separated."
        ),
    )

    class Meta:
        model = Offer
        fields = [
            "name", "code", "description", "kind", "is_active", "multiplier", "bonus_points", "min_spend",
            "categories", "skus", "reward", "reward_points", "segment", "starts_at", "ends_at",
            "requires_activation", "days_after_activation", "uses_per_member", "budget_points", "priority",
            "exclusive",
        ]  # fmt: skip


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    form = OfferTargetsForm
    list_display = [
        "name",
        "code",
        "kind",
        "segment",
        "requires_activation",
        "starts_at",
        "ends_at",
        "is_active",
    ]
    list_filter = ["kind", "is_active", "requires_activation"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    readonly_fields = ["spent_points", "figures", "created_at"]
    actions = ["send_mail"]
    fieldsets = [
        (None, {"fields": ["name", "code", "description", "kind", "is_active"]}),
        (
            gettext_lazy("What it gives"),
            {"fields": ["multiplier", "bonus_points", "min_spend", "categories", "skus"]},
        ),
        (
            gettext_lazy("A reward at a lower price"),
            {"fields": ["reward", "reward_points"]},
        ),
        (gettext_lazy("For whom"), {"fields": ["segment", "member_numbers"]}),
        (
            gettext_lazy("When"),
            {"fields": ["starts_at", "ends_at", "requires_activation", "days_after_activation"]},
        ),
        (
            gettext_lazy("Limits"),
            {"fields": ["uses_per_member", "budget_points", "spent_points", "priority", "exclusive"]},
        ),
        (gettext_lazy("Figures"), {"fields": ["figures", "created_at"]}),
    ]

    @admin.display(description=gettext_lazy("Figures"))
    def figures(self, obj: Offer) -> str:
        if not obj.pk:
            return "-"
        f = offer_figures([obj])[obj.pk]
        return _(
            "targeted %(targeted)s, activated %(activated)s, used %(used)s, points %(points)s, "
            "incremental spend %(incremental_spend)s"
        ) % {
            "targeted": f.targeted,
            "activated": f.activated,
            "used": f.used,
            "points": f.points,
            "incremental_spend": f.incremental_spend,
        }

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        numbers = form.cleaned_data.get("member_numbers") or ""
        if numbers.strip():
            added, unknown = offer_targets_upload(
                offer=obj, member_numbers=numbers.replace(",", "\n").splitlines()
            )
            messages.info(
                request,
                ngettext(
                    "%(count)s member added to the offer's list.",
                    "%(count)s members added to the offer's list.",
                    added,
                )
                % {"count": added},
            )
            if unknown:
                messages.warning(
                    request,
                    ngettext(
                        "No member with number: %(numbers)s",
                        "No member with numbers: %(numbers)s",
                        len(unknown),
                    )
                    % {"numbers": ", ".join(unknown[:20])},
                )

    @admin.action(
        description=gettext_lazy("Mail the offer to its members who opted in"), permissions=["change"]
    )
    def send_mail(self, request, queryset) -> None:
        from .tasks import offer_mail_send_task

        ids = list(queryset.values_list("pk", flat=True))
        transaction.on_commit(lambda: [offer_mail_send_task.delay(pk) for pk in ids])
        messages.success(
            request,
            ngettext(
                "Offer mail queued for %(count)s offer.", "Offer mail queued for %(count)s offers.", len(ids)
            )
            % {"count": len(ids)},
        )


@admin.register(OfferActivation)
class OfferActivationAdmin(admin.ModelAdmin):
    list_display = ["offer", "member", "activated_at", "valid_until", "channel"]
    list_filter = ["offer", "channel"]
    raw_id_fields = ["member"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
