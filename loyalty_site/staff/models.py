"""What staff work needs beyond the core: adjustments that wait for a second person, the link
from a store manager to their stores, tier drafts for the what-if page, and the permissions of
the staff portal.

A points adjustment of more points than ``Program.adjustment_approval_threshold`` is an
``AdjustmentRequest`` first (maker); a different staff member approves it (checker), and only
then is it posted through ``members.ledger.services.points_adjust``. Smaller ones are recorded
the same way and applied at once, so every staff adjustment has a request row behind it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class StaffPortal(models.Model):
    """No table: it only carries the staff portal's permissions."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_reports", "Can see program figures and reports"),
            ("edit_tier_draft", "Can draft and publish tier thresholds and multipliers"),
            ("resend_member_mail", "Can resend mail to a member"),
            ("access_all_stores", "Can see every store's purchases and keys"),
        ]

    def __str__(self) -> str:
        return "Staff portal"


class AdjustmentRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"

    member = models.ForeignKey("members.Member", on_delete=models.PROTECT, related_name="+")
    points = models.BigIntegerField(
        help_text="Signed: a positive number adds points, a negative one removes."
    )
    reason = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    needs_approval = models.BooleanField(default=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=255, blank=True)
    entry = models.OneToOneField(
        "members.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [
            ("approve_adjustmentrequest", "Can approve another staff member's large adjustment"),
            ("request_large_adjustment", "Can request adjustments above the approval threshold"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="adjustment_request_not_zero"),
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="adjustment_approver_is_not_requester",
            ),
            models.CheckConstraint(
                condition=~Q(status="applied") | Q(entry__isnull=False),
                name="adjustment_applied_has_entry",
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="adjustment_status_requested")]

    def __str__(self) -> str:
        return f"{self.points:+d} points for member {self.member_id} ({self.get_status_display()})"


class StoreManager(models.Model):
    """A staff user who manages a store: in admin they see that store's purchases and keys."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="managed_stores"
    )
    store = models.ForeignKey("members.Store", on_delete=models.CASCADE, related_name="managers")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "store"], name="store_manager_unique")]

    def __str__(self) -> str:
        return f"{self.user} manages {self.store}"


class TierDraft(models.Model):
    """Tier thresholds and multipliers being considered on the what-if page.

    ``tiers`` maps a tier code to ``{"threshold": "500.00", "multiplier": "1.25"}``.
    """

    tiers = models.JSONField(default=dict)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        state = f"published {self.published_at:%Y-%m-%d}" if self.published_at else "draft"
        return f"Tier draft {self.pk} ({state})"
