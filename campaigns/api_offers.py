"""Personalised offers under /api/v1/: the offers a member may use now, and activating one at
the till (shared/CONTRACT.md, "Personalised offers and segments").

Offers are built from a member's purchase history, so a partner's key reads and activates them
only for members related to it (``members.stores``); for any other member it is 404, as an
unknown member.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from members.api import member_by_number
from members.errors import MemberNotFound
from members.models import Member, Store
from members.serializers import error_responses

from .offers import MemberOffer, member_offers, offer_activate


class OfferSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    activated = serializers.BooleanField()
    valid_until = serializers.DateTimeField()


class OfferListSerializer(serializers.Serializer):
    results = OfferSerializer(many=True)


def offer_body(item: MemberOffer) -> dict:
    offer = item.offer
    return {
        "code": offer.code,
        "name": offer.name,
        "description": offer.description,
        "activated": item.activated,
        "valid_until": item.valid_until,
    }


def _member(member_number: str, store: Store) -> Member:
    member = member_by_number(member_number, store)
    if not member.personal_data_visible:
        raise MemberNotFound()
    return member


class MemberOffersView(APIView):
    @extend_schema(
        operation_id="members_offers_list",
        responses={200: OfferListSerializer, **error_responses(404)},
    )
    def get(self, request, member_number: str):
        member = _member(member_number, request.user.store)
        return Response(OfferListSerializer({"results": [offer_body(o) for o in member_offers(member)]}).data)


class MemberOfferActivateView(APIView):
    @extend_schema(
        operation_id="members_offers_activate",
        request=None,
        responses={
            200: OfferSerializer,
            **error_responses(
                404, _404="`not_found` (no such member), or `offer_not_found`: not this member's to use."
            ),
        },
    )
    def post(self, request, member_number: str, code: str):
        member = _member(member_number, request.user.store)
        item = offer_activate(member=member, code=code[:60], channel="api")
        return Response(OfferSerializer(offer_body(item)).data)


urlpatterns = [
    path("members/<str:member_number>/offers/", MemberOffersView.as_view(), name="api-member-offers"),
    path(
        "members/<str:member_number>/offers/<str:code>/activate/",
        MemberOfferActivateView.as_view(),
        name="api-member-offer-activate",
    ),
]
