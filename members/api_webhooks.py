"""``/api/v1/webhooks/``: a store registers, lists and removes its own webhook endpoints.
The secret is shown once, in the answer to the registration."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from .serializers import StrictCharField, error_responses
from .webhooks.events import EVENT_TYPES
from .webhooks.models import WebhookEndpoint
from .webhooks.services import endpoint_create, endpoint_delete


class WebhookCreateSerializer(serializers.Serializer):
    url = StrictCharField(max_length=500, not_blank=True)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), min_length=1, max_length=50
    )


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "is_active", "created_at"]


class WebhookCreatedSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "events", "secret", "is_active", "created_at"]


class WebhookListView(APIView):
    @extend_schema(
        operation_id="webhooks_list", responses={200: WebhookSerializer(many=True), **error_responses()}
    )
    def get(self, request):
        endpoints = WebhookEndpoint.objects.filter(store=request.user.store, deleted_at__isnull=True)
        return Response(WebhookSerializer(endpoints, many=True).data)

    @extend_schema(
        operation_id="webhooks_create",
        request=WebhookCreateSerializer,
        responses={201: WebhookCreatedSerializer, **error_responses(400)},
    )
    def post(self, request):
        body = WebhookCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = endpoint_create(
            store=request.user.store, url=body.validated_data["url"], events=body.validated_data["events"]
        )
        return Response(WebhookCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    @extend_schema(operation_id="webhooks_destroy", responses={204: None, **error_responses(404)})
    def delete(self, request, endpoint_id: int):
        endpoint_delete(store=request.user.store, endpoint_id=endpoint_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("webhooks/", WebhookListView.as_view(), name="api-webhooks"),
    path("webhooks/<int:endpoint_id>/", WebhookDetailView.as_view(), name="api-webhook"),
]
