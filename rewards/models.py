"""The reward catalog and what members redeem from it.

- ``Reward`` is one catalog item: what it costs in points, what it is worth, how many are left
  (``stock``; null is unlimited), who may have it (``min_tier``, ``per_member_limit``) and when
  (``available_from`` .. ``available_until``).
- ``Redemption`` is one member spending points on one reward. It carries the voucher the member
  shows at the till: ``voucher_code`` and ``expires_at``. Its life is ``issued`` -> ``used``
  (at the till, or fulfilled by staff), or ``issued`` -> ``cancelled`` (points and stock given
  back), or ``issued`` -> ``expired`` (the program's policy decides whether points come back).
  Every move out of ``issued`` is one conditional ``UPDATE``, so it happens exactly once.
- ``Voucher`` is the same rows seen as vouchers (a proxy for admin).

The points themselves live in the members ledger: a redemption's debit is the entry with
``source_type="redemption"`` and ``source_id=<redemption pk>``.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.config import ConfigQuerySet
from members.models import Member, Store, Tier, User

# No 0/O, 1/I/L: a code read out loud or typed from a phone screen cannot be mistyped into
# another valid-looking code. 31 symbols, 12 of them: about 59 bits.
VOUCHER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
VOUCHER_LENGTH = 12
VOUCHER_GROUP = 4


def new_voucher_code() -> str:
    raw = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_LENGTH))
    return "-".join(raw[i : i + VOUCHER_GROUP] for i in range(0, VOUCHER_LENGTH, VOUCHER_GROUP))


def normalise_voucher_code(code: str) -> str:
    """What a cashier typed, in the stored form: case, spaces and dashes do not matter."""
    raw = "".join(ch for ch in (code or "").upper() if ch.isascii() and ch.isalnum())
    return "-".join(raw[i : i + VOUCHER_GROUP] for i in range(0, len(raw), VOUCHER_GROUP))


class RewardQuerySet(ConfigQuerySet):
    # Taken and given back by every redemption; read from the row, never from a kept copy.
    counters = frozenset({"stock"})

    def active(self) -> RewardQuerySet:
        return self.filter(is_active=True)

    def in_window(self, on: datetime | None = None) -> RewardQuerySet:
        on = on or timezone.now()
        return self.filter(
            Q(available_from__isnull=True) | Q(available_from__lte=on),
            Q(available_until__isnull=True) | Q(available_until__gt=on),
        )

    def for_tier(self, tier: Tier | None) -> RewardQuerySet:
        """Rewards a member on ``tier`` may have (None: only those with no minimum tier)."""
        if tier is None:
            return self.filter(min_tier__isnull=True)
        return self.filter(Q(min_tier__isnull=True) | Q(min_tier__rank__lte=tier.rank))

    def in_stock(self) -> RewardQuerySet:
        return self.filter(Q(stock__isnull=True) | Q(stock__gt=0))

    def available(self, *, on: datetime | None = None, tier: Tier | None = None) -> RewardQuerySet:
        """Active, in their window on ``on`` (default now), in stock, and open to ``tier``."""
        return self.active().in_window(on).in_stock().for_tier(tier)

    def catalog_order(self) -> RewardQuerySet:
        return self.order_by("-is_featured", "points_cost", "name")


class Reward(models.Model):
    class Kind(models.TextChoices):
        FIXED_VOUCHER = "fixed_voucher", "Fixed discount voucher"
        PERCENT_VOUCHER = "percent_voucher", "Percent discount voucher"
        FREE_PRODUCT = "free_product", "Free product"
        EXPERIENCE = "experience", "Experience"
        EARLY_ACCESS = "early_access", "Early access"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    category = models.CharField(max_length=60, blank=True, db_index=True)
    image = models.CharField(
        max_length=200, blank=True, help_text="A path under the static files, e.g. rewards/voucher-5.svg."
    )
    points_cost = models.PositiveBigIntegerField()
    cash_value = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("0"),
        help_text="What the reward is worth in the program currency (the discount, or the product's price).",
    )
    discount_percent = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Percent vouchers only: the discount, 1 to 100."
    )
    sku = models.CharField(max_length=64, blank=True, help_text="Free products: the product given.")
    event_starts_at = models.DateTimeField(null=True, blank=True, help_text="Experiences: when it happens.")
    venue = models.CharField(max_length=120, blank=True)
    stock = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many are left (seats for an experience); empty is unlimited."
    )
    per_member_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many one member may hold (issued or used); empty is unlimited."
    )
    min_tier = models.ForeignKey(
        Tier,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Lowest tier allowed.",
    )
    available_from = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    monthly_for_plan = models.ForeignKey(
        "members.MembershipPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Issued free every month to members of this paid plan (a plan's monthly voucher).",
    )
    members_of_plan = models.ForeignKey(
        "members.MembershipPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Only members with a running membership of this paid plan may redeem it.",
    )
    is_featured = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RewardQuerySet.as_manager()

    class Meta:
        ordering = ["-is_featured", "points_cost", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(points_cost__gt=0), name="reward_points_cost_positive"),
            models.CheckConstraint(condition=Q(cash_value__gte=0), name="reward_cash_value_not_negative"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="reward_stock_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(per_member_limit__isnull=True) | Q(per_member_limit__gt=0),
                name="reward_per_member_limit_positive",
            ),
            models.CheckConstraint(
                condition=~Q(kind="percent_voucher")
                | (Q(discount_percent__gte=1) & Q(discount_percent__lte=100)),
                name="reward_percent_voucher_has_percent",
            ),
            models.CheckConstraint(
                condition=Q(available_from__isnull=True)
                | Q(available_until__isnull=True)
                | Q(available_until__gt=models.F("available_from")),
                name="reward_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def image_url(self) -> str:
        return static(self.image) if self.image else ""

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0

    def is_in_window(self, on: datetime) -> bool:
        return (self.available_from is None or self.available_from <= on) and (
            self.available_until is None or on < self.available_until
        )


class PlanVoucher(models.Model):
    """A paid plan's monthly reward, issued to a member once per plan and month
    (``rewards.plans``): the voucher is a redemption that spent no points."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey("members.MembershipPlan", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="The first day of the month it was issued for.")
    redemption = models.OneToOneField(
        "rewards.Redemption", on_delete=models.PROTECT, related_name="plan_voucher"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "plan", "month"], name="plan_voucher_once_a_month"),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} voucher of {self.member_id} for {self.month:%Y-%m}"


class Redemption(models.Model):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        USED = "used", _("Used")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")

    # Redemptions that count against a reward's per-member limit.
    HELD = (Status.ISSUED, Status.USED)

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    points_spent = models.PositiveBigIntegerField()
    cash_value = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    voucher_code = models.CharField(max_length=20, unique=True, default=new_voucher_code)
    expires_at = models.DateTimeField()
    # Who asked: a store through the API, or a person (the member in the portal, staff in admin).
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Scoped by the caller (``api:<store id>:<key>``, ``portal:<member id>:<key>``).
    idempotency_key = models.CharField(max_length=240, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)
    used_store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    used_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    points_returned = models.PositiveBigIntegerField(default=0)
    # Who lowered the price below the reward's ``points_cost`` (``offer:<code>``), if anyone.
    price_source = models.CharField(max_length=80, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_returned__lte=models.F("points_spent")),
                name="redemption_returns_at_most_spent",
            ),
            models.CheckConstraint(
                condition=~Q(status="used") | Q(used_at__isnull=False), name="redemption_used_has_time"
            ),
        ]
        indexes = [
            models.Index(fields=["member", "reward", "status"], name="redemption_member_reward"),
            models.Index(
                fields=["expires_at", "member"], condition=Q(status="issued"), name="redemption_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.voucher_code} ({self.reward_id} for {self.member_id})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.ISSUED


class Voucher(Redemption):
    """Redemptions seen from the till: looked up by code, used once."""

    class Meta:
        proxy = True
        ordering = ["-created_at", "-id"]
