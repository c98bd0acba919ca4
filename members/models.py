"""The core of the program: people, the program's settings, tiers, stores, purchases and the
points ledger.

The ledger is three tables:

- ``LedgerEntry`` is the append-only journal. Every change to a member's points is one row
  with signed ``points`` and the member's total balance after it. Rows are never updated or
  deleted; a mistake is corrected by another entry.
- ``PointLot`` is opened by every credit. It holds how many of those points are left
  (``remaining``), when they stop being pending (``available_at``) and when they expire
  (``expires_at``). ``is_pending`` is set while the return window is open and cleared by the
  release job.
- ``LotAllocation`` records which lots a debit took its points from (positive points) and
  which lots a restoration gave them back to (negative points), so a cancelled redemption
  returns points with their original expiry and every lot's ``points - remaining`` is explained
  by its allocations.

The member row caches ``points_available`` and ``points_pending``. Every write locks that row
first, so the cache, the lots and the journal move together. ``points_available`` may be
negative only when a refund clawed back points that were already spent; while it is, every lot
is empty and the next points that arrive pay the debt first.

Points are 64-bit integers. One entry moves at most ``MAX_POINTS`` and a balance stays within
``MAX_BALANCE`` either side of zero, so no sum the ledger keeps can overflow its column: a credit
that would pass them is refused as invalid input, never a database error.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .config import ConfigQuerySet

MAX_POINTS = 10**15
MAX_BALANCE = 10**18  # a 64-bit column holds a little over 9 x 10**18


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A login: a member in the portal or a staff user. The email address is the login."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # The friend's code the sign-up carried, kept with the login (not the browser session) so
    # the referral counts whichever browser the address is verified in.
    signup_referral_code = models.CharField(max_length=12, blank=True)
    # The marketing consent the sign-up form gave, recorded on the member when it is claimed.
    signup_marketing_opt_in = models.BooleanField(default=False, db_default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    def __str__(self) -> str:
        return self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.email

    def get_short_name(self) -> str:
        return self.first_name or self.email


class Program(models.Model):
    """The program's settings: one row, edited in admin. ``Program.load()`` returns it."""

    class ExpiryMode(models.TextChoices):
        ROLLING = "rolling", "Rolling: each lot expires N days after it was earned"
        INACTIVITY = "inactivity", "Inactivity: all points expire after N days without activity"

    class TierMetric(models.TextChoices):
        SPEND = "spend", "Qualifying spend"
        POINTS = "points", "Points earned"

    class TierWindow(models.TextChoices):
        ROLLING = "rolling", "Rolling 12 months"
        CALENDAR = "calendar", "Calendar year"

    class ExpiredVoucherPolicy(models.TextChoices):
        REFUND = "refund", "Return the points"
        FORFEIT = "forfeit", "Points are forfeited"

    name = models.CharField(max_length=100, default="Rewards Club")
    currency = models.CharField(max_length=3, default="USD")
    base_earn_rate = models.DecimalField(
        max_digits=8,
        decimal_places=4,
        default=Decimal("1"),
        help_text="Points per one unit of currency spent.",
    )
    point_value = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        default=Decimal("0.01"),
        help_text="What one point is worth in the program currency (for liability).",
    )
    return_window_days = models.PositiveIntegerField(
        default=14, help_text="Points from a purchase stay pending this many days."
    )
    expiry_mode = models.CharField(max_length=12, choices=ExpiryMode.choices, default=ExpiryMode.ROLLING)
    expiry_days = models.PositiveIntegerField(default=365)
    tier_metric = models.CharField(max_length=8, choices=TierMetric.choices, default=TierMetric.SPEND)
    tier_window = models.CharField(max_length=10, choices=TierWindow.choices, default=TierWindow.ROLLING)
    tier_hold_days = models.PositiveIntegerField(
        default=365, help_text="A tier reached is held at least this many days."
    )
    tier_grace_days = models.PositiveIntegerField(
        default=0, help_text="Extra days after the hold before a downgrade takes effect."
    )
    voucher_validity_days = models.PositiveIntegerField(default=90)
    transfer_monthly_limit = models.PositiveBigIntegerField(
        default=5000, help_text="Points one member may send to others per calendar month."
    )
    expired_voucher_policy = models.CharField(
        max_length=8, choices=ExpiredVoucherPolicy.choices, default=ExpiredVoucherPolicy.REFUND
    )
    adjustment_approval_threshold = models.PositiveIntegerField(
        default=1000,
        help_text="Staff adjustments of more points than this wait for a second staff member.",
    )
    adjustment_daily_cap = models.PositiveIntegerField(
        default=5000,
        help_text="Points (added or removed) one staff member may post without a second staff "
        "member in any 24 hours; beyond it an adjustment waits for approval.",
    )
    referral_monthly_cap = models.PositiveIntegerField(
        default=10, help_text="Referral rewards one member can earn per calendar month."
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = ConfigQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="program_is_singleton"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> Program:
        """The row, read now (``members.config.program()`` is the copy kept per process)."""
        program, _ = cls.objects.get_or_create(pk=1)
        return program

    def lot_expiry(self, earned_at) -> timezone.datetime | None:
        """When points earned at ``earned_at`` expire, or None when only inactivity expires them."""
        if self.expiry_mode == self.ExpiryMode.ROLLING:
            return earned_at + timedelta(days=self.expiry_days)
        return None


class TierQuerySet(ConfigQuerySet):
    def for_value(self, value: Decimal | int) -> Tier | None:
        """The highest tier whose threshold ``value`` reaches."""
        return self.filter(threshold__lte=value).order_by("-rank").first()


class Tier(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=60)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="Higher is better.")
    threshold = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text="Qualifying spend (or points) over the window needed to reach this tier.",
    )
    multiplier = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("1"))
    benefits = models.TextField(blank=True)

    objects = TierQuerySet.as_manager()

    class Meta:
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(condition=Q(threshold__gte=0), name="tier_threshold_not_negative"),
            models.CheckConstraint(condition=Q(multiplier__gt=0), name="tier_multiplier_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Store(models.Model):
    """A shop, a web shop or a partner in a coalition. API keys belong to a store.

    One of the program's own stores sees every member in full. A partner is another business
    in a coalition: it sees personal data only of members related to it, only its own entries of
    a member's ledger, and redeems only with the code from the member's card; its purchases
    may not be dated more than ``max_backdate_hours`` back (``members.stores``). No store may
    post a purchase above its ``max_purchase_amount``.
    """

    name = models.CharField(max_length=120, unique=True)
    code = models.SlugField(max_length=60, unique=True)
    is_active = models.BooleanField(default=True)
    is_partner = models.BooleanField(
        default=False,
        help_text="A partner in a coalition, not one of the program's own stores: it sees personal "
        "data only of members it enrolled or sold to, and redeems only with the member's card code.",
    )
    max_purchase_amount = models.DecimalField(
        max_digits=12,
        decimal_places=2,
        default=Decimal("10000.00"),
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text="The largest purchase amount this store's keys may post.",
    )
    max_backdate_hours = models.PositiveIntegerField(
        default=72,
        validators=[MaxValueValidator(24 * 3650)],  # ten years, as purchases allow
        help_text="Partners only: how many hours before now a purchase may be dated.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ConfigQuerySet.as_manager()  # the API keeps stores with their keys

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_purchase_amount__gt=0), name="store_max_purchase_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ApiKeyQuerySet(ConfigQuerySet):
    counters = frozenset({"last_used_at"})


class ApiKey(models.Model):
    """A store's key for the HTTP API. Only a SHA-256 digest is kept; the key is shown once.
    Keys in use are kept per process (``members.config``)."""

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=12, db_index=True)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.store} {self.prefix}…"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def new_member_number() -> str:
    return f"{secrets.randbelow(9 * 10**9) + 10**9}"


def new_referral_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(8))


class Member(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"
        CLOSED = "closed", "Closed"
        # Personal data pseudonymised, the login removed, the points forfeited: the row stays
        # for the ledger and the program's figures (members.privacy.member_erase).
        ERASED = "erased", "Erased"

    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="member")
    member_number = models.CharField(max_length=20, unique=True, default=new_member_number)
    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True, db_index=True)
    birth_date = models.DateField(null=True, blank=True)
    # A birthday bonus needs the date set 30 days before (no setting it the day before).
    birth_date_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    enrolled_at = models.DateTimeField(default=timezone.now)
    enrolled_store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    referral_code = models.CharField(max_length=12, unique=True, default=new_referral_code)
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    tier_achieved_at = models.DateTimeField(null=True, blank=True)
    tier_held_until = models.DateTimeField(null=True, blank=True)
    points_available = models.BigIntegerField(default=0)
    points_pending = models.BigIntegerField(default=0)
    last_activity_at = models.DateTimeField(null=True, blank=True)
    marketing_opt_in = models.BooleanField(default=False)
    reminder_opt_in = models.BooleanField(default=True)
    leaderboard_opt_in = models.BooleanField(default=False, db_default=False)
    # The member's language for pages and mail ("" until they choose: the site's default).
    language = models.CharField(max_length=8, blank=True, default="", db_default="")
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(points_pending__gte=0), name="member_pending_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.member_number} {self.email}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def points_total(self) -> int:
        return self.points_available + self.points_pending


class MemberCardToken(models.Model):
    """A code from the member's card page (``/portal/card/``): the member shows it, as a QR code
    or as text, and a partner's till sends it to redeem for them. Valid for a few minutes and
    used once, under the member's row lock (``members.cards``). Only a keyed digest is kept."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="card_tokens")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["member", "expires_at"], name="card_token_member")]

    def __str__(self) -> str:
        return f"card code of {self.member_id} until {self.expires_at:%H:%M}"


class Purchase(models.Model):
    """A sale posted by a store. Points for it are ledger entries with source ``purchase``."""

    # Indexed by purchase_member_window, which leads with the member.
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="purchases", db_index=False)
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="purchases")
    external_id = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    purchased_at = models.DateTimeField()
    available_at = models.DateTimeField()
    points_awarded = models.BigIntegerField(default=0)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    points_reversed = models.BigIntegerField(default=0)
    # A digest of the request that created it: a replay with another payload is a conflict.
    payload_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="purchase_unique_per_store"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="purchase_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=models.F("amount")),
                name="purchase_refund_within_amount",
            ),
        ]
        indexes = [
            # Covers the tier job's spend per member and window: an index-only scan in member
            # order, instead of one heap page per purchase.
            models.Index(
                fields=["member", "purchased_at"],
                include=["amount", "refunded_amount"],
                name="purchase_member_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store} {self.external_id}"


class PurchaseLine(models.Model):
    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64, blank=True)
    category = models.CharField(max_length=64, blank=True)
    quantity = models.DecimalField(max_digits=10, decimal_places=3, default=Decimal("1"))
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    points_awarded = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.sku or self.category} {self.amount}"


class Refund(models.Model):
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="refunds")
    external_id = models.CharField(max_length=100)
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    points_reversed = models.BigIntegerField(default=0)
    payload_digest = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "external_id"], name="refund_unique_per_store"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"refund {self.external_id} of {self.purchase_id}"


class TierChange(models.Model):
    """Every move of a member between tiers, with why."""

    class Reason(models.TextChoices):
        ENROLMENT = "enrolment", "Enrolment"
        PURCHASE = "purchase", "Purchase crossed a threshold"
        REQUALIFICATION = "requalification", "Re-qualification"
        CATCH_UP = "catch_up", "Catch-up upgrade"
        STAFF = "staff", "Staff"
        MEMBERSHIP = "membership", "Paid membership"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="tier_changes")
    from_tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_tier = models.ForeignKey(Tier, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    qualifying_value = models.DecimalField(max_digits=20, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["member", "created_at"])]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_tier_id} -> {self.to_tier_id}"


# The entries that count toward the points tier metric: what purchases earned and campaigns
# gave, less what refunds reversed of them. Written once here for the three readers: the tier
# rules (``members.tiers``), the tier job's SQL and the covering index of ``LedgerEntry``.
TIER_QUALIFYING_KINDS = ("earn", "bonus", "reversal")
TIER_QUALIFYING_SOURCES = ("purchase", "campaign")


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        BONUS = "bonus", _("Bonus")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        ADJUST = "adjust", _("Adjustment")
        REVERSAL = "reversal", _("Reversal")
        TRANSFER = "transfer", _("Transfer")

    class Source(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        REFUND = "refund", "Refund"
        REDEMPTION = "redemption", "Redemption"
        CAMPAIGN = "campaign", "Campaign"
        ACTIVITY = "activity", "Activity"
        REFERRAL = "referral", "Referral"
        STAFF = "staff", "Staff"
        EXPIRY = "expiry", "Expiry"
        SYSTEM = "system", "System"
        TRANSFER = "transfer", "Transfer"

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    points = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    source_type = models.CharField(max_length=12, choices=Source.choices)
    source_id = models.CharField(max_length=64, blank=True)
    description = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The store whose purchase (and its refunds), redemption (and its return) or activity moved
    # these points; empty for the program's own entries (bonuses, expiry, staff). Written with
    # the entry, never changed: a partner's transactions are its entries.
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["earn", "bonus"], points__gt=0)
                    | Q(kind__in=["redeem", "expire"], points__lt=0)
                    | (Q(kind__in=["adjust", "reversal", "transfer"]) & ~Q(points=0))
                ),
                name="ledger_entry_sign_by_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-created_at", "-id"], name="ledger_member_recent"),
            # A partner's page of a member's transactions, in order.
            models.Index(
                fields=["member", "store", "-created_at", "-id"],
                condition=Q(store__isnull=False),
                name="ledger_member_store_recent",
            ),
            models.Index(fields=["source_type", "source_id"], name="ledger_source"),
            # A store's entries of a month (partner statements).
            models.Index(
                fields=["store", "created_at"], condition=Q(store__isnull=False), name="ledger_store_month"
            ),
            # Covers the tier job's points earned per member and window (the points metric).
            models.Index(
                fields=["member", "created_at"],
                include=["points"],
                condition=Q(
                    kind__in=list(TIER_QUALIFYING_KINDS), source_type__in=list(TIER_QUALIFYING_SOURCES)
                ),
                name="ledger_member_qualifying",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d} ({self.member_id})"


class PointLot(models.Model):
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="lots")
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="lot")
    points = models.BigIntegerField()
    remaining = models.BigIntegerField()
    is_pending = models.BooleanField(default=False)
    available_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="lot_points_positive"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=models.F("points")),
                name="lot_remaining_within_points",
            ),
        ]
        indexes = [
            models.Index(
                fields=["member", "expires_at", "id"],
                condition=Q(remaining__gt=0),
                name="lot_open_by_expiry",
            ),
            models.Index(fields=["available_at", "member"], condition=Q(is_pending=True), name="lot_pending"),
            models.Index(fields=["expires_at", "member"], condition=Q(remaining__gt=0), name="lot_expiring"),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.remaining}/{self.points}"


class LotAllocation(models.Model):
    """Points an entry took from a lot (positive) or gave back to it (negative)."""

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="allocations")
    lot = models.ForeignKey(PointLot, on_delete=models.PROTECT, related_name="allocations")
    points = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="allocation_not_zero"),
        ]

    def __str__(self) -> str:
        return f"entry {self.entry_id} lot {self.lot_id}: {self.points:+d}"


class AuditEvent(models.Model):
    """A change a person made (staff or member), written only through ``members.audit``."""

    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=60)
    member = models.ForeignKey(
        Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["member", "created_at"])]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_id}"


class Consent(models.Model):
    """A consent the member gave or withdrew, when and through what (the sign-up form, the
    portal's profile, a store's enrolment): the newest row of a kind is the member's answer."""

    class Kind(models.TextChoices):
        MARKETING = "marketing", "Offers and news by email"
        LEADERBOARD = "leaderboard", "Shown on leaderboards"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    granted = models.BooleanField()
    at = models.DateTimeField(default=timezone.now)
    # "signup", "portal", "api:<store code>", "admin"
    source = models.CharField(max_length=80)

    class Meta:
        ordering = ["member", "-at", "-id"]
        indexes = [models.Index(fields=["member", "kind", "-at"], name="consent_member_latest")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.kind}: {'granted' if self.granted else 'withdrawn'} ({self.source})"


class JobRun(models.Model):
    """One run of a scheduled job: what it ran as of, how far it got and what it changed.
    Chunks add to the counters in their own transaction, so the row shows progress live."""

    class Outcome(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=40, db_index=True)
    as_of = models.DateTimeField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    rows_changed = models.BigIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.RUNNING)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["name", "-started_at"], name="jobrun_name_recent")]

    def __str__(self) -> str:
        return f"{self.name} as of {self.as_of:%Y-%m-%d %H:%M} ({self.outcome})"

    @property
    def progress(self) -> int:
        """Percent of chunks done."""
        if not self.chunks_total:
            return 100 if self.outcome != self.Outcome.RUNNING else 0
        return int(100 * self.chunks_done / self.chunks_total)


class JobChunk(models.Model):
    """A chunk of a run that committed. Written in the chunk's own transaction before its work,
    so a chunk delivered twice (a worker lost after the commit, before the acknowledgement)
    finds its row, is neither run nor counted again, and the run's progress stays true."""

    run = models.ForeignKey(JobRun, on_delete=models.CASCADE, related_name="chunks")
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "first_id"], name="jobchunk_once_per_run")]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.first_id}-{self.last_id}"


class ExpiryReminder(models.Model):
    """A reminder that points expire on a date: at most one per member and date, so a member
    is never told twice about the same expiry."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="expiry_reminders")
    expires_on = models.DateField()
    points = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "expires_on"], name="expiry_reminder_once_per_date"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.points} points on {self.expires_on}"


from .models_plans import (  # noqa: E402, F401  (release 0.2: paid memberships, transfers, households)
    Household,
    HouseholdMember,
    Membership,
    MembershipPlan,
    Transfer,
)

# The outbox and webhooks live in their own module; imported here so Django sees the models.
from .webhooks.models import (  # noqa: E402, F401
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
