"""Admin of the webhooks: endpoints (staff manage any store's), the outbox of events, every
delivery and every attempt with its status code. Staff resend one delivery or all failed ones
of an endpoint, and enable an endpoint that was disabled."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from ..admin_base import ReadOnlyAdmin, ReadOnlyInline
from ..errors import InvalidRequest
from .addresses import endpoint_url_check
from .events import EVENT_TYPES
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .services import deliveries_resend, endpoint_enable, event_types_check

MANAGE = "members.change_webhookendpoint"


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", label=gettext_lazy("URL"))
    events = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        label=pgettext_lazy("webhook", "Events"),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["store", "url", "events", "description", "is_active"]

    def clean_url(self) -> str:
        try:
            return endpoint_url_check(self.cleaned_data.get("url"))
        except InvalidRequest as error:
            raise forms.ValidationError(error.fields["url"]) from None

    def clean_events(self) -> list[str]:
        try:
            return event_types_check(list(self.cleaned_data.get("events") or []))
        except InvalidRequest as error:
            raise forms.ValidationError(error.fields["events"]) from None


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "store", "is_active", "failing_since", "disabled_at", "pending", "failed"]
    list_filter = ["is_active", "store"]
    list_select_related = ["store"]
    search_fields = ["url", "store__name"]
    readonly_fields = [
        "secret",
        "failing_since",
        "disabled_at",
        "disabled_reason",
        "deleted_at",
        "created_at",
    ]
    actions = ["resend_failed", "enable"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=Count(
                    "deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)
                ),
                failed_count=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)),
            )
        )

    @admin.display(description=gettext_lazy("pending"), ordering="pending_count")
    def pending(self, endpoint) -> int:
        return endpoint.pending_count

    @admin.display(description=gettext_lazy("failed"), ordering="failed_count")
    def failed(self, endpoint) -> int:
        return endpoint.failed_count

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm(MANAGE)

    @admin.action(description=gettext_lazy("Resend every failed delivery"), permissions=["resend"])
    def resend_failed(self, request, queryset) -> None:
        count = sum(deliveries_resend(endpoint=endpoint, actor=request.user) for endpoint in queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)s failed delivery queued again.", "%(count)s failed deliveries queued again.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Enable (after it was disabled)"), permissions=["resend"])
    def enable(self, request, queryset) -> None:
        for endpoint in queryset:
            endpoint_enable(endpoint=endpoint, actor=request.user)
        self.message_user(request, _("Enabled. Resend their failed deliveries if they should have them."))


class WebhookAttemptInline(ReadOnlyInline):
    model = WebhookAttempt
    fields = ["number", "attempt_id", "outcome", "status_code", "error", "duration_ms", "started_at"]
    readonly_fields = fields


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "event_type",
        "event_id",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event__type"]
    list_select_related = ["event", "endpoint"]
    search_fields = ["endpoint__url", "=event__id"]
    inlines = [WebhookAttemptInline]
    actions = ["resend"]

    @admin.display(description=gettext_lazy("type"), ordering="event__type")
    def event_type(self, delivery) -> str:
        return delivery.event.type

    @admin.display(description=gettext_lazy("event id"))
    def event_id(self, delivery) -> str:
        return delivery.event.public_id

    def has_resend_permission(self, request) -> bool:
        return request.user.has_perm(MANAGE)

    @admin.action(description=gettext_lazy("Resend the selected deliveries"), permissions=["resend"])
    def resend(self, request, queryset) -> None:
        count = deliveries_resend(deliveries=list(queryset), actor=request.user)
        self.message_user(
            request,
            ngettext("%(count)s delivery queued again.", "%(count)s deliveries queued again.", count)
            % {"count": count},
            messages.SUCCESS,
        )


class WebhookDeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    fields = ["endpoint", "status", "attempts", "last_status_code", "last_error", "delivered_at"]
    readonly_fields = fields


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "public_id", "member", "store", "created_at", "dispatched_at"]
    list_filter = ["type"]
    list_select_related = ["member", "store"]
    search_fields = ["=id", "member__member_number"]
    readonly_fields = ["type", "member", "store", "data", "created_at", "dispatched_at"]
    inlines = [WebhookDeliveryInline]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "attempt_id",
        "delivery",
        "number",
        "outcome",
        "status_code",
        "error",
        "duration_ms",
        "started_at",
    ]
    list_filter = ["outcome"]
    list_select_related = ["delivery"]
