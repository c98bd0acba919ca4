"""API representations of members and ledger entries (shared/CONTRACT.md), and the error
envelope for the schema."""

from __future__ import annotations

from django.core.validators import RegexValidator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from . import config
from .memberships import member_membership
from .models import LedgerEntry, Member
from .selectors import member_expiring_points, member_tier_progress
from .stores import personal_data_visible

# Text without NUL characters (the database cannot store them); NOT_BLANK: and not only blanks.
NO_NUL = RegexValidator(r"^[^\x00]*$", "Null characters are not allowed.")
NOT_BLANK = RegexValidator(r"^[^\x00]*[^\s\x00][^\x00]*$", "Must not be blank.")


class StrictCharField(serializers.CharField):
    """A string, and only a string: numbers and booleans are refused as the schema says."""

    def __init__(self, *, not_blank: bool = False, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("validators", [NOT_BLANK if not_blank else NO_NUL])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """``true`` or ``false`` only: strings and numbers are refused as the schema says."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class ApiErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)


class ApiErrorSerializer(serializers.Serializer):
    error = ApiErrorBodySerializer()


ERROR_TEXTS = {
    400: "Invalid input (code `invalid`, with `fields`).",
    401: "No key, or an unknown or revoked one (`unauthenticated`).",
    429: "Too many requests for the key, or too many wrong keys from the address (`throttled`).",
    404: "Not found (`not_found`).",
    409: "A conflict; the code says which.",
}


def error_responses(*codes: int, **texts: str) -> dict[int, OpenApiResponse]:
    """Schema responses in the error envelope: ``error_responses(400, 404, _409="member_exists")``."""
    described = {int(key[1:]): text for key, text in texts.items()}
    return {
        code: OpenApiResponse(ApiErrorSerializer, description=described.get(code, ERROR_TEXTS.get(code, "")))
        for code in sorted({401, 429, *codes, *described})
    }


class TierRefSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class NextTierSerializer(TierRefSerializer):
    spend_needed = serializers.DecimalField(max_digits=14, decimal_places=2)


@extend_schema_field(OpenApiTypes.INT64)
class PointsField(serializers.IntegerField):
    """Points and balances: 64-bit whole numbers."""


class PointsSerializer(serializers.Serializer):
    available = PointsField()
    pending = PointsField()


class ExpiringSerializer(serializers.Serializer):
    points = PointsField()
    expires_at = serializers.DateField()


class MembershipRefSerializer(serializers.Serializer):
    plan = serializers.CharField()
    ends_at = serializers.DateTimeField()


class MemberSerializer(serializers.Serializer):
    """A member as the contract shows it. A partner's key gets the personal data (email, names,
    phone, birth date) of a member it neither enrolled nor recorded a purchase of as nulls."""

    # For the store in context["store"] (members.stores). Reads: the member (with its tier, and
    # the relation when it came from members_for_store), the next expiring points, and the
    # tier progress.

    PERSONAL = ("email", "first_name", "last_name", "phone", "birth_date")

    member_number = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    first_name = serializers.CharField(allow_null=True)
    last_name = serializers.CharField(allow_blank=True, allow_null=True)
    phone = serializers.CharField(allow_blank=True, allow_null=True)
    birth_date = serializers.DateField(allow_null=True)
    tier = TierRefSerializer(allow_null=True)
    points = PointsSerializer()
    next_tier = NextTierSerializer(allow_null=True)
    expiring = ExpiringSerializer(many=True)
    referral_code = serializers.CharField()
    membership = MembershipRefSerializer(allow_null=True)

    def to_representation(self, member: Member) -> dict:
        program = config.program()
        progress = member_tier_progress(member)
        upcoming = progress.next_tier
        personal = {
            "email": member.email,
            "first_name": member.first_name,
            "last_name": member.last_name,
            "phone": member.phone,
            "birth_date": member.birth_date.isoformat() if member.birth_date else None,
        }
        if not personal_data_visible(member, self.context["store"]):
            personal = dict.fromkeys(self.PERSONAL)
        return {
            "member_number": member.member_number,
            **personal,
            "tier": {"code": member.tier.code, "name": member.tier.name} if member.tier_id else None,
            "points": {"available": member.points_available, "pending": member.points_pending},
            "next_tier": None
            if upcoming is None
            else {
                "code": upcoming.code,
                "name": upcoming.name,
                "spend_needed": f"{progress.needed:.2f}",
            },
            "expiring": [
                {"points": dated.points, "expires_at": dated.on.isoformat()}
                for dated in member_expiring_points(member, program=program)
            ],
            "referral_code": member.referral_code,
            "membership": _membership(member),
        }


def _membership(member: Member) -> dict | None:
    running = member_membership(member)
    if running is None:
        return None
    ends_at = serializers.DateTimeField().to_representation(running["ends_at"])
    return {"plan": running["plan"], "ends_at": ends_at}


class MemberCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    first_name = StrictCharField(max_length=150, not_blank=True)
    last_name = StrictCharField(max_length=150, allow_blank=True)
    phone = StrictCharField(max_length=32, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)
    referral_code = StrictCharField(max_length=12, required=False, allow_blank=True, allow_null=True)
    marketing_opt_in = StrictBooleanField(
        required=False, default=False, help_text="The member agreed to offers and news by email."
    )


class LedgerEntrySerializer(serializers.ModelSerializer):
    points = PointsField(read_only=True)
    balance_after = PointsField(read_only=True)

    class Meta:
        model = LedgerEntry
        fields = ["kind", "points", "balance_after", "created_at", "description"]
        read_only_fields = fields


class TransactionPageSerializer(serializers.Serializer):
    results = LedgerEntrySerializer(many=True)
    next = serializers.URLField(allow_null=True)
