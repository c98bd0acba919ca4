"""Engagement: challenges, badges, streak milestones and community events.

A ``Challenge`` is a goal (purchases, spend, distinct stores or categories, activities of a
type, event check-ins) with a target inside a window (fixed dates, or any rolling N days), and
a reward (points, a badge, or both), once or repeatable. ``ChallengeProgress`` is one row per
member and challenge: where the member stands, and how many completions are live.
``ChallengeCompletion`` is one row per completion: the fact that completed it, the points it
paid (pending until that purchase's return window closes) and, when a refund undid it before
then, when it was reversed. Progress is always a function of history (``progress.py``): the
purchase, refund, activity and check-in services move it in their own transaction, and the
``recompute_challenges`` job computes it again from history for challenges added later.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from members.models import Member, Purchase, Store, Tier, User


class Badge(models.Model):
    class Milestone(models.TextChoices):
        NONE = "", "None (earned by a challenge or given by staff)"
        NTH_PURCHASE = "nth_purchase", "The member's Nth purchase"
        FIRST_REFERRAL = "first_referral", "A first friend referred"
        YEARS_MEMBER = "years_member", "N years as a member"
        TIER_REACHED = "tier_reached", "A tier reached"

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=255, blank=True)
    image = models.CharField(
        max_length=200, default="engagement/badges/star.svg", help_text="An SVG under static/."
    )
    milestone = models.CharField(max_length=20, choices=Milestone.choices, blank=True, default="")
    milestone_count = models.PositiveIntegerField(
        default=1, help_text="N for the Nth purchase or N years as a member."
    )
    milestone_tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class MemberBadge(models.Model):
    class Source(models.TextChoices):
        CHALLENGE = "challenge", "Challenge"
        MILESTONE = "milestone", "Milestone"
        STAFF = "staff", "Given by staff"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="holders")
    source = models.CharField(max_length=10, choices=Source.choices)
    completion = models.ForeignKey(
        "ChallengeCompletion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    given_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    earned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["earned_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["member", "badge"], name="badge_once_per_member")]

    def __str__(self) -> str:
        return f"{self.badge_id} for {self.member_id}"


class Challenge(models.Model):
    class Goal(models.TextChoices):
        PURCHASES = "purchases", "Number of purchases"
        SPEND = "spend", "Spend (whole currency units, net of refunds)"
        STORES = "stores", "Distinct stores visited"
        CATEGORIES = "categories", "Distinct categories bought"
        ACTIVITIES = "activities", "Activities of a type"
        CHECK_INS = "check_ins", "Event check-ins"

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=255, blank=True)
    goal = models.CharField(max_length=12, choices=Goal.choices)
    activity_kind = models.CharField(
        max_length=20,
        blank=True,
        help_text="For the activities goal: the activity type (community_post, ...).",
    )
    target = models.PositiveIntegerField()
    starts_at = models.DateTimeField(default=timezone.now, help_text="Nothing before counts.")
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty: open-ended.")
    window_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Rolling window: the target within any N days. Empty: the whole period.",
    )
    reward_points = models.PositiveBigIntegerField(default=0)
    reward_badge = models.ForeignKey(Badge, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    repeatable = models.BooleanField(default=False, help_text="Off: once per member.")
    tiers = models.ManyToManyField(Tier, blank=True, related_name="+", help_text="Empty: every tier.")
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(target__gte=1), name="challenge_target_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="challenge_window"
            ),
            models.CheckConstraint(
                condition=Q(window_days__isnull=True) | Q(window_days__gte=1), name="challenge_rolling_days"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ChallengeProgress(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="progress_rows")
    progress = models.PositiveIntegerField(default=0)
    completions = models.PositiveIntegerField(default=0, help_text="Live (not reversed) completions.")
    completed_at = models.DateTimeField(null=True, blank=True, help_text="The last live completion.")
    settled_until = models.DateTimeField(
        null=True, blank=True, help_text="When the last completion's points stop being reversible."
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "challenge"], name="challenge_progress_once")
        ]
        indexes = [models.Index(fields=["challenge", "updated_at"])]

    def __str__(self) -> str:
        return f"{self.challenge_id}/{self.member_id}: {self.progress}"


class ChallengeCompletion(models.Model):
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    challenge = models.ForeignKey(Challenge, on_delete=models.PROTECT, related_name="completions")
    sequence = models.PositiveIntegerField(help_text="1 for the first completion, 2 for the next, ...")
    completed_at = models.DateTimeField()
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    points = models.PositiveBigIntegerField(default=0)
    available_at = models.DateTimeField(help_text="Until then a refund that undoes it reverses its points.")
    # The ledger source its points were credited under (one entry may pay several completions).
    ledger_source_id = models.CharField(max_length=64, blank=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["completed_at", "pk"]
        indexes = [models.Index(fields=["member", "challenge"])]

    def __str__(self) -> str:
        return f"{self.challenge_id}#{self.sequence} for {self.member_id}"


class StreakMilestone(models.Model):
    """Points (and a badge) when a member's purchase streak reaches ``weeks``, once per streak."""

    weeks = models.PositiveIntegerField(unique=True)
    points = models.PositiveBigIntegerField(default=0)
    badge = models.ForeignKey(Badge, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["weeks"]
        constraints = [models.CheckConstraint(condition=Q(weeks__gte=1), name="streak_weeks_positive")]

    def __str__(self) -> str:
        return f"{self.weeks} weeks"


class StreakReward(models.Model):
    """A streak milestone paid: once per member, milestone and streak (its first ISO week)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    milestone = models.ForeignKey(StreakMilestone, on_delete=models.PROTECT, related_name="+")
    streak_start = models.DateField()
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    points = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "milestone", "streak_start"], name="streak_reward_once_per_streak"
            )
        ]

    def __str__(self) -> str:
        return f"{self.milestone_id} for {self.member_id} ({self.streak_start})"


class Event(models.Model):
    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    place = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    capacity = models.PositiveIntegerField()
    check_in_opens_at = models.DateTimeField()
    check_in_closes_at = models.DateTimeField()
    points = models.PositiveBigIntegerField(default=0)
    seats_taken = models.PositiveIntegerField(default=0, editable=False)
    # What the event's QR code carries: members who scan it check in from the portal.
    check_in_secret = models.CharField(max_length=40, editable=False, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="event_window"),
            models.CheckConstraint(
                condition=Q(check_in_closes_at__gt=F("check_in_opens_at")), name="event_check_in_window"
            ),
            models.CheckConstraint(condition=Q(seats_taken__lte=F("capacity")), name="event_within_capacity"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.check_in_secret:
            import secrets

            self.check_in_secret = secrets.token_urlsafe(18)
        super().save(*args, **kwargs)


class EventRsvp(models.Model):
    """A seat held for a member (a check-in without one takes a seat then)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="rsvps")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "member"], name="rsvp_once")]

    def __str__(self) -> str:
        return f"{self.member_id} at {self.event_id}"


class EventCheckIn(models.Model):
    class Channel(models.TextChoices):
        STORE = "store", "A store, over the API"
        PORTAL = "portal", "The member, scanning the event's code"

    event = models.ForeignKey(Event, on_delete=models.PROTECT, related_name="check_ins")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=6, choices=Channel.choices)
    points = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "member"], name="check_in_once")]
        indexes = [models.Index(fields=["member", "created_at"])]

    def __str__(self) -> str:
        return f"{self.member_id} checked in at {self.event_id}"


class EngagementProfile(models.Model):
    """A member's choices about the community side: the leaderboard (opt-in, by nickname)."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="+")
    nickname = models.CharField(max_length=30, unique=True, null=True, blank=True)
    leaderboard_opt_in = models.BooleanField(default=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(leaderboard_opt_in=False) | Q(nickname__isnull=False),
                name="leaderboard_needs_nickname",
            )
        ]

    def __str__(self) -> str:
        return self.nickname or f"member {self.member_id}"
