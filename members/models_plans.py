"""Paid memberships, point transfers and households (release 0.2), defined beside the core's
models and imported by ``members.models``.

- ``MembershipPlan``: what a paid plan costs, for how long, and what it gives while it lasts: a
  minimum tier (the tier *floor*) and an earn multiplier that multiplies the tier's.
- ``Membership``: one term of a plan a store sold a member (the fee is paid at the store's till or
  web shop). Its benefits hold while ``starts_at <= t < ends_at``; a cancellation moves
  ``ends_at`` to the moment of cancelling, so every reader asks only that one question. An
  auto-renewing membership is followed by a new row (``renewed_from``) when its term ends.
- ``Transfer``: points one member sent another. The points move as ledger entries of kind
  ``transfer`` (``members.ledger.services.points_transfer``); this row is what the sender
  asked for, and what staff reverse.
- ``Household`` / ``HouseholdMember``: members who see each other's balances together. Each
  member keeps their own ledger; a household shares a view, not a balance.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone


def membership_running_sql(alias: str, at: str) -> str:
    """``members.memberships.running_memberships`` as a SQL test: the benefits of the membership
    row ``alias`` hold at ``at`` (a column, or a placeholder, written twice)."""
    return f"{alias}.starts_at <= {at} AND {alias}.ends_at > {at}"


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (the month's last day when it is shorter)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


class MembershipPlan(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=60)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))])
    term_months = models.PositiveSmallIntegerField(default=12, validators=[MinValueValidator(1)])
    min_tier = models.ForeignKey(
        "members.Tier",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="While the membership lasts the member's tier is at least this one.",
    )
    earn_multiplier = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("1"),
        help_text="Multiplies the tier's multiplier on every purchase while the membership lasts.",
    )
    auto_renew = models.BooleanField(
        default=False, help_text="A membership renews for another term when it ends, unless cancelled."
    )
    is_active = models.BooleanField(default=True, help_text="Stores may sell it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["price", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="plan_price_not_negative"),
            models.CheckConstraint(condition=Q(term_months__gte=1), name="plan_term_positive"),
            models.CheckConstraint(condition=Q(earn_multiplier__gt=0), name="plan_multiplier_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        CANCELLED = "cancelled", "Cancelled"
        ENDED = "ended", "Ended"
        RENEWED = "renewed", "Renewed"

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="memberships")
    plan = models.ForeignKey(MembershipPlan, on_delete=models.PROTECT, related_name="memberships")
    store = models.ForeignKey(
        "members.Store", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    external_id = models.CharField(max_length=100)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    auto_renew = models.BooleanField(default=False)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    renewed_from = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="renewal"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="membership_unique_per_store"),
            models.UniqueConstraint(
                fields=["member", "plan"],
                condition=Q(status="active"),
                name="membership_one_active_per_plan",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gte=models.F("starts_at")), name="membership_ends_after_start"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="membership_price_not_negative"),
        ]
        indexes = [
            models.Index(fields=["member", "ends_at"], name="membership_member_ends"),
            models.Index(fields=["ends_at"], condition=Q(status="active"), name="membership_active_ends"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} of {self.member_id} until {self.ends_at:%Y-%m-%d}"


class Transfer(models.Model):
    sender = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="transfers_sent")
    recipient = models.ForeignKey(
        "members.Member", on_delete=models.PROTECT, related_name="transfers_received"
    )
    points = models.BigIntegerField()
    message = models.CharField(max_length=140, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        "members.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reversal_reason = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="transfer_points_positive"),
            models.CheckConstraint(condition=~Q(sender=models.F("recipient")), name="transfer_not_to_self"),
        ]
        indexes = [models.Index(fields=["sender", "created_at"], name="transfer_sender_recent")]

    def __str__(self) -> str:
        return f"{self.points} points {self.sender_id} -> {self.recipient_id}"


class Household(models.Model):
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class HouseholdMember(models.Model):
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="memberships")
    member = models.OneToOneField("members.Member", on_delete=models.CASCADE, related_name="household_link")
    joined_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.member_id} in {self.household_id}"
