"""API shapes of purchases, refunds and activities (shared/CONTRACT.md)."""

from __future__ import annotations

from django.core.validators import RegexValidator
from rest_framework import serializers

from members.serializers import StrictCharField

from .services.actions import SUBMITTABLE

# An amount above zero with at most 2 decimal places, as a string ("12.50").
AMOUNT = RegexValidator(
    r"^([1-9][0-9]{0,9}(\.[0-9]{1,2})?|0?\.(0[1-9]|[1-9][0-9]?))$",
    "An amount above zero with at most 2 decimal places, as a string.",
)
QUANTITY = RegexValidator(r"^[0-9]{1,6}(\.[0-9]{1,3})?$", "A quantity with at most 3 decimal places.")


def amount_field(**kwargs) -> StrictCharField:
    return StrictCharField(max_length=14, validators=[AMOUNT], **kwargs)


class PurchaseLineSerializer(serializers.Serializer):
    sku = StrictCharField(max_length=64, required=False, allow_blank=True)
    category = StrictCharField(max_length=64, required=False, allow_blank=True)
    quantity = StrictCharField(max_length=11, required=False, validators=[QUANTITY])
    amount = amount_field()


class PurchaseRequestSerializer(serializers.Serializer):
    member = StrictCharField(max_length=20, help_text="The member's member_number.")
    external_id = StrictCharField(max_length=100, not_blank=True)
    amount = amount_field()
    currency = StrictCharField(min_length=3, max_length=3)
    purchased_at = serializers.DateTimeField()
    lines = PurchaseLineSerializer(many=True, required=False)


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
