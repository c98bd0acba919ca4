"""``/api/v1/statements/{YYYY-MM}/``: a store's own partner statement for a month."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from members.serializers import PointsField, error_responses

from .reports import statement_month, store_statement


class StatementSerializer(serializers.Serializer):
    month = serializers.SerializerMethodField()
    currency = serializers.CharField()
    points_issued = PointsField()
    points_redeemed = PointsField()
    value_issued = serializers.DecimalField(max_digits=24, decimal_places=2)
    value_redeemed = serializers.DecimalField(max_digits=24, decimal_places=2)
    net = serializers.DecimalField(max_digits=24, decimal_places=2)

    def get_month(self, statement) -> str:
        return f"{statement.month:%Y-%m}"


class StatementView(APIView):
    @extend_schema(
        operation_id="statements_retrieve",
        parameters=[
            OpenApiParameter(
                "month",
                {"type": "string", "pattern": r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"},
                OpenApiParameter.PATH,
                description="The calendar month, as YYYY-MM.",
            )
        ],
        responses={200: StatementSerializer, **error_responses(400)},
    )
    def get(self, request, month: str):
        statement = store_statement(store=request.user.store, month=statement_month(month))
        return Response(StatementSerializer(statement).data)


urlpatterns = [path("statements/<str:month>/", StatementView.as_view(), name="api-statement")]
