"""Paid memberships under /api/v1/ (shared/CONTRACT.md, "Paid memberships"): a store sells a
member a plan, and cancels one it sold. Thin: parse, call one service of
``members.memberships``, answer."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from .memberships import membership_cancel, membership_start
from .models import Membership
from .serializers import StrictCharField, error_responses


class MembershipCreateSerializer(serializers.Serializer):
    member = StrictCharField(max_length=20, not_blank=True)
    plan = StrictCharField(max_length=30, not_blank=True)
    external_id = StrictCharField(max_length=100, not_blank=True)


class MembershipSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    plan = serializers.CharField()
    status = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()

    def to_representation(self, membership: Membership) -> dict:
        return {
            "id": membership.pk,
            "plan": membership.plan.code,
            "status": membership.status,
            "starts_at": serializers.DateTimeField().to_representation(membership.starts_at),
            "ends_at": serializers.DateTimeField().to_representation(membership.ends_at),
        }


class MembershipCreateView(APIView):
    @extend_schema(
        operation_id="memberships_create",
        request=MembershipCreateSerializer,
        responses={
            201: MembershipSerializer,
            200: MembershipSerializer,
            **error_responses(
                400,
                404,
                _409="`membership_active`: the member has a running membership of that plan; "
                "`duplicate_external_id`: the id was used for another member or plan.",
            ),
        },
    )
    def post(self, request):
        body = MembershipCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        outcome = membership_start(
            store=request.user.store,
            member_number=data["member"],
            plan_code=data["plan"],
            external_id=data["external_id"],
        )
        return Response(
            MembershipSerializer(outcome.membership).data,
            status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK,
        )


class MembershipCancelView(APIView):
    @extend_schema(
        operation_id="memberships_cancel",
        request=None,
        responses={
            200: MembershipSerializer,
            **error_responses(404, _409="`membership_not_active`: it has already ended."),
        },
    )
    def post(self, request, membership_id: int):
        membership = membership_cancel(membership_id=membership_id, store=request.user.store)
        return Response(MembershipSerializer(membership).data)


urlpatterns = [
    path("memberships/", MembershipCreateView.as_view(), name="api-memberships"),
    path(
        "memberships/<int:membership_id>/cancel/",
        MembershipCancelView.as_view(),
        name="api-membership-cancel",
    ),
]
