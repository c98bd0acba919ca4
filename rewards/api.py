"""This app's endpoints under /api/v1/: the catalog, redeeming, cancelling, using a voucher.

Who may do what: any store's key reads the catalog and uses any voucher (a coalition: a
voucher is good at every store of the program). An own store redeems for a member by number; a
partner only with the code from the member's card (``member_token``; 403
``member_token_required`` or ``invalid_member_token``). A redemption is cancelled only by the
store that made it; another store's, or one made in the portal, is answered 404. An inactive
reward is answered 404, like an unknown one. Errors are mapped from the domain errors in
``loyalty_site.api.errors``.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from members.serializers import StrictCharField, error_responses

from . import selectors, services
from .models import Redemption, Reward


class RewardSerializer(serializers.ModelSerializer):
    min_tier = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    members_of_plan = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    in_stock = serializers.BooleanField(read_only=True)
    image_url = serializers.CharField(read_only=True)

    class Meta:
        model = Reward
        fields = [
            "code",
            "name",
            "kind",
            "category",
            "description",
            "points_cost",
            "cash_value",
            "discount_percent",
            "min_tier",
            "members_of_plan",
            "in_stock",
            "stock",
            "per_member_limit",
            "available_from",
            "available_until",
            "event_starts_at",
            "is_featured",
            "image_url",
        ]
        read_only_fields = fields


class RedemptionSerializer(serializers.ModelSerializer):
    reward = serializers.SlugRelatedField(slug_field="code", read_only=True)
    member = serializers.SlugRelatedField(slug_field="member_number", read_only=True)

    class Meta:
        model = Redemption
        fields = [
            "id",
            "member",
            "reward",
            "voucher_code",
            "points_spent",
            "price_source",
            "points_returned",
            "status",
            "expires_at",
            "created_at",
        ]
        read_only_fields = fields


DATETIME = serializers.DateTimeField()


def redemption_body(redemption: Redemption, member_number: str) -> dict:
    """``RedemptionSerializer``'s answer, written directly on the redeeming hot path."""
    return {
        "id": redemption.pk,
        "member": member_number,
        "reward": redemption.reward.code,
        "voucher_code": redemption.voucher_code,
        "points_spent": redemption.points_spent,
        "points_returned": redemption.points_returned,
        "status": redemption.status,
        "expires_at": DATETIME.to_representation(redemption.expires_at),
        "created_at": DATETIME.to_representation(redemption.created_at),
    }


class RedeemRequestSerializer(serializers.Serializer):
    # Strict strings: the schema states (as a pattern) that NUL characters are refused.
    member = StrictCharField(max_length=20, help_text="The member's member_number.")
    reward = StrictCharField(max_length=40, help_text="The reward's code.")
    idempotency_key = StrictCharField(max_length=200, required=False)
    member_token = StrictCharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="The code the member shows from the portal's card page (a QR code and text, valid "
        "10 minutes, used once). Required from a partner's key; the program's own stores need none.",
    )


class RewardListView(APIView):
    @extend_schema(
        operation_id="rewards_list", responses={200: RewardSerializer(many=True), **error_responses()}
    )
    def get(self, request):
        return Response(RewardSerializer(selectors.reward_catalog(), many=True).data)


class RedemptionCreateView(APIView):
    @extend_schema(
        operation_id="redemptions_create",
        request=RedeemRequestSerializer,
        responses={
            201: RedemptionSerializer,
            200: OpenApiResponse(RedemptionSerializer, description="A replay of the same idempotency key."),
            **error_responses(
                _400="Invalid input.",
                _403="A partner's key without the member's card code (`member_token_required`), or "
                "with a wrong, used or expired one (`invalid_member_token`).",
                _404="Unknown member or reward (an inactive reward too).",
                _409="insufficient_points, out_of_stock, tier_required, plan_required, limit_reached, "
                "reward_unavailable, "
                "member_inactive or idempotency_conflict.",
            ),
        },
    )
    def post(self, request):
        body = RedeemRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        key = body.validated_data.get("idempotency_key")
        redeemed = services.reward_redeem(
            member_number=body.validated_data["member"],
            reward_code=body.validated_data["reward"],
            store=request.user.store,
            idempotency_key=f"api:{request.user.store.pk}:{key}" if key else None,
            member_token=body.validated_data.get("member_token"),
        )
        return Response(
            redemption_body(redeemed.redemption, body.validated_data["member"]),
            status=status.HTTP_201_CREATED if redeemed.created else status.HTTP_200_OK,
        )


class RedemptionCancelView(APIView):
    @extend_schema(
        operation_id="redemptions_cancel",
        request=None,
        responses={
            200: RedemptionSerializer,
            **error_responses(
                _404="Unknown redemption, or one this store did not make (another store's, or the portal's).",
                _409="not_cancellable",
            ),
        },
    )
    def post(self, request, redemption_id: int):
        redemption = services.redemption_cancel(redemption_id=redemption_id, store=request.user.store)
        return Response(RedemptionSerializer(redemption).data)


class VoucherUseView(APIView):
    @extend_schema(
        operation_id="vouchers_use",
        request=None,
        responses={
            200: inline_serializer(
                "VoucherUsed",
                {
                    "status": serializers.CharField(),
                    "voucher_code": serializers.CharField(),
                    "reward": serializers.CharField(),
                    "cash_value": serializers.DecimalField(max_digits=10, decimal_places=2),
                },
            ),
            **error_responses(
                _404="Unknown voucher.", _409="voucher_used, voucher_expired or voucher_cancelled"
            ),
        },
    )
    def post(self, request, voucher_code: str):
        redemption = services.voucher_use(code=voucher_code, store=request.user.store)
        return Response(
            {
                "status": redemption.status,
                "voucher_code": redemption.voucher_code,
                "reward": redemption.reward.code,
                "cash_value": f"{redemption.cash_value:.2f}",
            }
        )


urlpatterns = [
    path("rewards/", RewardListView.as_view(), name="api-rewards"),
    path("redemptions/", RedemptionCreateView.as_view(), name="api-redemptions"),
    path(
        "redemptions/<int:redemption_id>/cancel/",
        RedemptionCancelView.as_view(),
        name="api-redemption-cancel",
    ),
    path("vouchers/<str:voucher_code>/use/", VoucherUseView.as_view(), name="api-voucher-use"),
]
