"""This app's endpoints under /api/v1/: enrol a member, read one, read their ledger.

Any store's key may enrol and read any member of the program (a coalition: members shop at
every store). A partner sees personal data only of members related to it, and only its own
entries of a member's ledger (``members.stores``). Errors are mapped from the domain errors in
``loyalty_site.api.errors``.
"""

from __future__ import annotations

from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from .errors import MemberNotFound
from .memberships import membership_annotations
from .models import Member, Store
from .serializers import (
    LedgerEntrySerializer,
    MemberCreateSerializer,
    MemberSerializer,
    TransactionPageSerializer,
    error_responses,
)
from .services import member_enroll
from .stores import entries_for_store, members_for_store


def member_by_number(member_number: str, store: Store) -> Member:
    """The member with that number (and its tier) as ``store`` sees it, or ``MemberNotFound``."""
    if not member_number or len(member_number) > 20 or "\x00" in member_number:
        raise MemberNotFound()
    member = (
        members_for_store(store)
        .select_related("tier")
        .annotate(**membership_annotations(at=timezone.now()))
        .filter(member_number=member_number)
        .first()
    )
    if member is None:
        raise MemberNotFound()
    return member


class MemberCreateView(APIView):
    @extend_schema(
        operation_id="members_create",
        request=MemberCreateSerializer,
        responses={201: MemberSerializer, **error_responses(400, _409="`member_exists`: a known email.")},
    )
    def post(self, request):
        body = MemberCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        member = member_enroll(
            email=data["email"],
            first_name=data["first_name"],
            last_name=data.get("last_name") or "",
            phone=data.get("phone") or "",
            birth_date=data.get("birth_date"),
            referral_code=data.get("referral_code") or None,
            store=request.user.store,
            channel="api",
        )
        return Response(
            MemberSerializer(member, context={"store": request.user.store}).data,
            status=status.HTTP_201_CREATED,
        )


class MemberDetailView(APIView):
    @extend_schema(operation_id="members_retrieve", responses={200: MemberSerializer, **error_responses(404)})
    def get(self, request, member_number: str):
        store = request.user.store
        member = member_by_number(member_number, store)
        return Response(MemberSerializer(member, context={"store": store}).data)


class TransactionPagination(CursorPagination):
    page_size = 50
    ordering = ("-created_at", "-id")


class MemberTransactionsView(APIView):
    pagination_class = TransactionPagination

    @extend_schema(
        operation_id="members_transactions",
        parameters=[
            OpenApiParameter("cursor", str, required=False, description="The `next` link's cursor."),
        ],
        responses={200: TransactionPageSerializer, **error_responses(404)},
    )
    def get(self, request, member_number: str):
        """The member's ledger, newest first, 50 entries a page: a partner's own entries only."""
        store = request.user.store
        member = member_by_number(member_number, store)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(entries_for_store(member, store), request, view=self)
        return Response(
            {"results": LedgerEntrySerializer(page, many=True).data, "next": paginator.get_next_link()}
        )


urlpatterns = [
    path("members/", MemberCreateView.as_view(), name="api-members"),
    path("members/<str:member_number>/", MemberDetailView.as_view(), name="api-member"),
    path(
        "members/<str:member_number>/transactions/",
        MemberTransactionsView.as_view(),
        name="api-member-transactions",
    ),
]
