"""This app's endpoints under /api/v1/: purchases, refunds and activities.

A store posts its own purchases and refunds; a refund names a purchase by the external id the
same store gave it (another store's purchase is 404). Replays answer 200 with the first answer.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from members.serializers import error_responses

from .engagement.api import urlpatterns as engagement_urls
from .serializers import (
    ActivityRequestSerializer,
    ActivitySerializer,
    PurchaseRequestSerializer,
    PurchaseSerializer,
    RefundRequestSerializer,
    RefundSerializer,
)
from .services import PurchaseOutcome, RefundOutcome, activity_submit, purchase_record, refund_record

# PurchaseSerializer describes the answer; on the hot path it is written directly, with the
# serializer's own rendering of dates.
DATETIME = serializers.DateTimeField()


def purchase_body(outcome: PurchaseOutcome) -> dict:
    purchase = outcome.purchase
    return {
        "external_id": purchase.external_id,
        "member": purchase.member.member_number,
        "amount": f"{purchase.amount:.2f}",
        "currency": purchase.currency,
        "purchased_at": DATETIME.to_representation(purchase.purchased_at),
        "points_awarded": purchase.points_awarded,
        "available_at": DATETIME.to_representation(purchase.available_at),
        "awards": [{"source": award.source, "points": award.points} for award in outcome.awards],
    }


def refund_body(outcome: RefundOutcome) -> dict:
    refund = outcome.refund
    return RefundSerializer(
        {
            "external_id": refund.external_id,
            "purchase": outcome.purchase.external_id,
            "amount": f"{refund.amount:.2f}",
            "points_reversed": refund.points_reversed,
            "created_at": refund.created_at,
        }
    ).data


def _status(created: bool) -> int:
    return status.HTTP_201_CREATED if created else status.HTTP_200_OK


class PurchaseCreateView(APIView):
    @extend_schema(
        operation_id="purchases_create",
        request=PurchaseRequestSerializer,
        responses={
            201: PurchaseSerializer,
            200: OpenApiResponse(
                PurchaseSerializer, description="A replay: the first answer, no new points."
            ),
            **error_responses(
                400,
                404,
                _400="Invalid input (`invalid`, with `fields`); an amount above the store's largest "
                "purchase (`amount_over_limit`); a partner's purchase dated further back than it may "
                "post (`purchase_too_old`).",
                _409="`duplicate_external_id` (the same external_id with another payload) or "
                "`member_inactive`.",
            ),
        },
    )
    def post(self, request):
        body = PurchaseRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = purchase_record(store=request.user.store, purchase=body.validated_data)
        return Response(purchase_body(outcome), status=_status(outcome.created))


class RefundCreateView(APIView):
    @extend_schema(
        operation_id="purchases_refunds_create",
        request=RefundRequestSerializer,
        responses={
            201: RefundSerializer,
            200: OpenApiResponse(RefundSerializer, description="A replay: the first answer, nothing new."),
            **error_responses(
                400,
                404,
                _400="Invalid input, or more than is left to refund.",
                _409="`duplicate_external_id`.",
            ),
        },
    )
    def post(self, request, external_id: str):
        body = RefundRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = refund_record(
            store=request.user.store,
            purchase_external_id=external_id,
            external_id=data["external_id"],
            amount=data["amount"],
        )
        return Response(refund_body(outcome), status=_status(outcome.created))


class ActivityCreateView(APIView):
    @extend_schema(
        operation_id="activities_create",
        request=ActivityRequestSerializer,
        responses={
            201: ActivitySerializer,
            202: OpenApiResponse(ActivitySerializer, description="Recorded; staff must approve it first."),
            200: OpenApiResponse(ActivitySerializer, description="A replay: the first answer."),
            **error_responses(
                400,
                404,
                _409="`limit_reached`, `duplicate_external_id` or `member_inactive`.",
            ),
        },
    )
    def post(self, request):
        body = ActivityRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = activity_submit(
            member=data["member"],
            kind=data["type"],
            external_id=data["external_id"],
            url=data.get("url") or "",
            store=request.user.store,
        )
        activity = outcome.activity
        answer = ActivitySerializer(
            {
                "external_id": activity.external_id,
                "type": activity.rule.kind,
                "status": activity.status,
                "points_awarded": activity.points_awarded,
            }
        ).data
        if not outcome.created:
            return Response(answer, status=status.HTTP_200_OK)
        code = status.HTTP_202_ACCEPTED if outcome.needs_approval else status.HTTP_201_CREATED
        return Response(answer, status=code)


urlpatterns = [
    path("purchases/", PurchaseCreateView.as_view(), name="api-purchases"),
    path(
        "purchases/<str:external_id>/refunds/",
        RefundCreateView.as_view(),
        name="api-purchase-refunds",
    ),
    path("activities/", ActivityCreateView.as_view(), name="api-activities"),
    *engagement_urls,
]
