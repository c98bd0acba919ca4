"""Engagement endpoints under /api/v1/ (shared/CONTRACT.md, "Engagement"): a member's badges,
challenges and streak; an event check-in from a store's till."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from members.errors import MemberNotFound
from members.models import Member
from members.serializers import PointsField, StrictCharField, error_responses

from .events import event_check_in
from .selectors import member_engagement


class BadgeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    earned_at = serializers.DateTimeField()


class ChallengeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    progress = serializers.IntegerField()
    target = serializers.IntegerField()
    completed_at = serializers.DateTimeField(allow_null=True)


class StreakSerializer(serializers.Serializer):
    current_weeks = serializers.IntegerField()
    best_weeks = serializers.IntegerField()


class EngagementSerializer(serializers.Serializer):
    badges = BadgeSerializer(many=True)
    challenges = ChallengeSerializer(many=True)
    streak = StreakSerializer()


class CheckInRequestSerializer(serializers.Serializer):
    member = StrictCharField(max_length=20, help_text="The member's member_number.")


class CheckInSerializer(serializers.Serializer):
    event = serializers.CharField()
    member = serializers.CharField()
    points = PointsField()
    checked_in_at = serializers.DateTimeField()


class MemberEngagementView(APIView):
    @extend_schema(
        operation_id="members_engagement_retrieve",
        responses={200: EngagementSerializer, **error_responses(404)},
    )
    def get(self, request, member_number: str):
        member = Member.objects.filter(member_number=member_number[:20]).first()
        if member is None:
            raise MemberNotFound()
        engagement = member_engagement(member)
        return Response(
            EngagementSerializer(
                {
                    "badges": [
                        {"code": held.badge.code, "name": held.badge.name, "earned_at": held.earned_at}
                        for held in engagement.badges
                    ],
                    "challenges": engagement.challenges,
                    "streak": engagement.streak,
                }
            ).data
        )


class EventCheckInView(APIView):
    @extend_schema(
        operation_id="events_check_ins_create",
        request=CheckInRequestSerializer,
        responses={
            201: CheckInSerializer,
            200: OpenApiResponse(
                CheckInSerializer, description="A replay: the member was already checked in."
            ),
            **error_responses(
                400,
                404,
                _409="`event_full` (no seat left), `event_closed` (outside the check-in window) or "
                "`member_inactive`.",
            ),
        },
    )
    def post(self, request, code: str):
        body = CheckInRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        outcome = event_check_in(
            event_code=code, member_number=body.validated_data["member"], store=request.user.store
        )
        check_in = outcome.check_in
        answer = CheckInSerializer(
            {
                "event": code,
                "member": body.validated_data["member"],
                "points": check_in.points,
                "checked_in_at": check_in.created_at,
            }
        ).data
        return Response(answer, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


urlpatterns = [
    path(
        "members/<str:member_number>/engagement/",
        MemberEngagementView.as_view(),
        name="api-member-engagement",
    ),
    path("events/<str:code>/check-ins/", EventCheckInView.as_view(), name="api-event-check-ins"),
]
