"""API shapes of purchases, refunds and activities (shared/CONTRACT.md)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from rest_framework import serializers

from members.errors import InvalidRequest
from members.serializers import StrictCharField

from .inputs import AMOUNT_MESSAGE, AMOUNT_PATTERN, QUANTITY_MESSAGE, QUANTITY_PATTERN, PurchaseInput
from .services.actions import SUBMITTABLE

# An amount above zero with at most 2 decimal places, as a string ("12.50").
AMOUNT = RegexValidator(AMOUNT_PATTERN, AMOUNT_MESSAGE)
QUANTITY = RegexValidator(QUANTITY_PATTERN, QUANTITY_MESSAGE)


def amount_field(**kwargs) -> StrictCharField:
    return StrictCharField(max_length=14, validators=[AMOUNT], **kwargs)


class PurchaseLineSerializer(serializers.Serializer):
    sku = StrictCharField(max_length=64, required=False, allow_blank=True)
    category = StrictCharField(max_length=64, required=False, allow_blank=True)
    quantity = StrictCharField(max_length=11, required=False, validators=[QUANTITY])
    amount = amount_field()


class PurchaseRequestSerializer(serializers.Serializer):
    """The fields describe the request for the schema; the request itself is parsed by
    ``PurchaseInput.parse`` (the grammar the CSV import uses too), and ``validated_data`` is the
    ``PurchaseInput``."""

    member = StrictCharField(max_length=20, help_text="The member's member_number.")
    external_id = StrictCharField(max_length=100, not_blank=True)
    amount = amount_field()
    currency = StrictCharField(min_length=3, max_length=3)
    purchased_at = serializers.DateTimeField()
    lines = PurchaseLineSerializer(many=True, required=False)

    def to_internal_value(self, data) -> PurchaseInput:
        try:
            return PurchaseInput.parse(data)
        except InvalidRequest as error:
            raise serializers.ValidationError(error.fields or {"non_field_errors": [error.message]}) from None


class AwardSerializer(serializers.Serializer):
    source = serializers.CharField()
    points = serializers.IntegerField()


class PurchaseSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    member = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    purchased_at = serializers.DateTimeField()
    points_awarded = serializers.IntegerField()
    available_at = serializers.DateTimeField()
    awards = AwardSerializer(many=True)


class RefundRequestSerializer(serializers.Serializer):
    external_id = StrictCharField(max_length=100, not_blank=True)
    amount = amount_field()


class RefundSerializer(serializers.Serializer):
    external_id = serializers.CharField()
    purchase = serializers.CharField()
    amount = serializers.CharField()
    points_reversed = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class ActivityRequestSerializer(serializers.Serializer):
    member = StrictCharField(max_length=20, help_text="The member's member_number.")
    type = serializers.ChoiceField(choices=list(SUBMITTABLE))
    external_id = StrictCharField(max_length=100, not_blank=True)
    url = StrictCharField(max_length=500, required=False, allow_blank=True, help_text="The shared link.")


class ActivitySerializer(serializers.Serializer):
    external_id = serializers.CharField()
    type = serializers.CharField()
    status = serializers.CharField()
    points_awarded = serializers.IntegerField()
