"""Admin for challenges, badges, streak milestones and events. A badge given by staff goes
through ``badge_give`` (audited); completions and progress are read-only history."""

from __future__ import annotations

from django.contrib import admin

from .models import Badge, Challenge, ChallengeCompletion, Event, MemberBadge, StreakMilestone
from .services import badge_give


@admin.register(Challenge)
class ChallengeAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "goal",
        "target",
        "window_days",
        "reward_points",
        "reward_badge",
        "repeatable",
        "is_active",
    )
    list_filter = ("goal", "is_active", "repeatable")
    search_fields = ("code", "name")
    filter_horizontal = ("tiers",)


@admin.register(Badge)
class BadgeAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "milestone", "milestone_count", "milestone_tier", "image", "is_active")
    search_fields = ("code", "name")


@admin.register(StreakMilestone)
class StreakMilestoneAdmin(admin.ModelAdmin):
    list_display = ("weeks", "points", "badge", "is_active")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "starts_at", "place", "capacity", "seats_taken", "points", "is_active")
    readonly_fields = ("seats_taken", "check_in_secret")
    search_fields = ("code", "name")


@admin.register(MemberBadge)
class MemberBadgeAdmin(admin.ModelAdmin):
    list_display = ("member", "badge", "source", "earned_at", "given_by")
    list_filter = ("source", "badge")
    raw_id_fields = ("member",)
    fields = ("member", "badge")

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change) -> None:
        given = badge_give(member_id=obj.member_id, badge=obj.badge, staff_user=request.user)
        obj.pk = given.pk


@admin.register(ChallengeCompletion)
class ChallengeCompletionAdmin(admin.ModelAdmin):
    list_display = (
        "challenge",
        "member",
        "sequence",
        "completed_at",
        "points",
        "available_at",
        "reversed_at",
    )
    list_filter = ("challenge",)
    raw_id_fields = ("member", "purchase")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
