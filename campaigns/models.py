"""Earning rules: campaigns (promotions on purchases), action rules (sign-up, birthday, review,
social share, event attendance, referral), the awards they produced, activities members
submit, referrals and bulk purchase imports.

An ``Award`` is one line of the earning breakdown: which rule (base rate, tier multiplier, a
campaign, an action) gave how many points, for which purchase or activity. The ledger holds the
points; awards say where they came from, and carry the per-member caps of campaigns.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.config import ConfigQuerySet
from members.models import Member, Purchase, Store, Tier, User


class CampaignQuerySet(ConfigQuerySet):
    # Spent on every purchase under a budget; read from the row, never from a kept copy.
    counters = frozenset({"spent_points"})

    def running(self, *, at) -> CampaignQuerySet:
        return self.filter(is_active=True, starts_at__lte=at, ends_at__gt=at)

    def for_purchase(self, *, at, store: Store, tier: Tier | None) -> CampaignQuerySet:
        """Campaigns that may apply at purchase time: running, for this store and tier (an empty
        target list means every store or tier). Settled kinds are paid later, not here."""
        qs = self.running(at=at).exclude(kind=Campaign.Kind.SPEND_THRESHOLD)
        qs = qs.filter(Q(stores__isnull=True) | Q(stores=store))
        qs = qs.filter(Q(tiers__isnull=True) | Q(tiers=tier)) if tier else qs.filter(tiers__isnull=True)
        return qs.distinct().order_by("-priority", "pk")


class LineTargeting:
    """Categories and SKUs a rule targets, stored comma-separated (``categories``, ``skus``)."""

    categories: str
    skus: str

    @property
    def category_list(self) -> set[str]:
        return {c.strip().lower() for c in self.categories.split(",") if c.strip()}

    @property
    def sku_list(self) -> set[str]:
        return {s.strip().lower() for s in self.skus.split(",") if s.strip()}


class Campaign(LineTargeting, models.Model):
    class Kind(models.TextChoices):
        MULTIPLIER = "multiplier", "Points multiplier on the whole purchase"
        FIXED_BONUS = "fixed_bonus", "Fixed bonus per purchase"
        CATEGORY_MULTIPLIER = "category_multiplier", "Multiplier on chosen categories or SKUs"
        SPEND_THRESHOLD = "spend_threshold", "Bonus for spending a threshold over the period (settled)"
        FIRST_PURCHASE = "first_purchase", "Bonus on a member's first purchase"

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    multiplier = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("1"), help_text="For multiplier kinds (2 = double)."
    )
    bonus_points = models.PositiveBigIntegerField(default=0, help_text="For bonus kinds.")
    threshold_amount = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), help_text="Spend over the period (threshold)."
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    tiers = models.ManyToManyField(Tier, blank=True, related_name="+", help_text="Empty: every tier.")
    stores = models.ManyToManyField(Store, blank=True, related_name="+", help_text="Empty: every store.")
    categories = models.CharField(max_length=500, blank=True, help_text="Comma-separated categories.")
    skus = models.CharField(max_length=500, blank=True, help_text="Comma-separated SKUs.")
    min_spend = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    per_member_cap = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Most points one member can get from it."
    )
    budget_points = models.PositiveBigIntegerField(null=True, blank=True, help_text="Most points in total.")
    spent_points = models.PositiveBigIntegerField(default=0, editable=False)
    priority = models.IntegerField(default=0, help_text="Higher applies first.")
    exclusive = models.BooleanField(
        default=False, help_text="When it applies, campaigns of lower priority do not."
    )
    retroactive = models.BooleanField(
        default=False,
        help_text="Also pay purchases in its window recorded before it was created (at settlement).",
    )
    is_active = models.BooleanField(default=True)
    settled_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CampaignQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="campaign_window"),
            models.CheckConstraint(condition=Q(multiplier__gte=1), name="campaign_multiplier_at_least_one"),
            models.CheckConstraint(
                condition=Q(budget_points__isnull=True) | Q(spent_points__lte=models.F("budget_points")),
                name="campaign_within_budget",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        return f"campaign:{self.code}"


class ActionRule(models.Model):
    """Points for something a member does other than buying."""

    class Kind(models.TextChoices):
        SIGNUP = "signup", "Sign-up"
        BIRTHDAY = "birthday", "Birthday"
        REVIEW = "review", "Product review"
        SOCIAL_SHARE = "social_share", "Social share"
        EVENT_ATTENDANCE = "event_attendance", "Event attendance"
        COMMUNITY_POST = "community_post", "Community post (forum)"
        REFERRAL_REFERRER = "referral_referrer", "Referral (the member who referred)"
        REFERRAL_REFERRED = "referral_referred", "Referral (the new member)"

    class Period(models.TextChoices):
        DAY = "day", "Per day"
        WEEK = "week", "Per week"
        MONTH = "month", "Per month"
        YEAR = "year", "Per year"
        EVER = "ever", "Ever"

    kind = models.CharField(max_length=20, choices=Kind.choices, unique=True)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=255, blank=True)
    points = models.PositiveBigIntegerField()
    requires_approval = models.BooleanField(default=False, help_text="Staff approve each one first.")
    limit_count = models.PositiveIntegerField(
        null=True, blank=True, help_text="Most awards per member per period (empty: no limit)."
    )
    limit_period = models.CharField(max_length=5, choices=Period.choices, default=Period.MONTH)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["kind"]

    def __str__(self) -> str:
        return self.name

    @property
    def source(self) -> str:
        return f"rule:{self.kind}"


class Award(models.Model):
    """One line of an earning breakdown: ``source`` gave ``points``."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="awards"
    )
    source = models.CharField(max_length=80)
    points = models.PositiveBigIntegerField()
    position = models.PositiveSmallIntegerField(default=0)
    # Set for awards paid by settlement: one per campaign and member.
    settlement_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["purchase_id", "position"]
        indexes = [models.Index(fields=["campaign", "member"])]

    def __str__(self) -> str:
        return f"{self.source} {self.points}"


class Activity(models.Model):
    """An action a member reported (through a store's API key or the portal)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="activities")
    rule = models.ForeignKey(ActionRule, on_delete=models.PROTECT, related_name="activities")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # "<store id or portal>:<external id>": the same report twice is one activity.
    key = models.CharField(max_length=200, unique=True)
    external_id = models.CharField(max_length=100)
    url = models.URLField(max_length=500, blank=True)
    payload_digest = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices)
    points_awarded = models.PositiveBigIntegerField(default=0)
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["member", "rule", "created_at"])]

    def __str__(self) -> str:
        return f"{self.rule.kind} by {self.member_id} ({self.status})"


class Referral(models.Model):
    """The outcome of one referral, paid or refused, with why."""

    class Status(models.TextChoices):
        REWARDED = "rewarded", "Rewarded"
        REFUSED = "refused", "Refused"
        REVERSED = "reversed", "Reversed (the purchase was refunded)"

    referrer = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    referred = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="referral")
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices)
    reason = models.CharField(max_length=200, blank=True)
    referrer_points = models.PositiveBigIntegerField(default=0)
    referred_points = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["referrer", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.referrer_id} -> {self.referred_id}: {self.status}"


class PurchaseImport(models.Model):
    """A CSV of purchases a staff member uploaded; processed in chunks by a task."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(max_length=200, blank=True)
    content = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    rows_accepted = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.file_name or 'import'} ({self.rows_done}/{self.rows_total})"


class PurchaseImportError(models.Model):
    purchase_import = models.ForeignKey(PurchaseImport, on_delete=models.CASCADE, related_name="errors")
    row_number = models.PositiveIntegerField()
    external_id = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=500)

    class Meta:
        ordering = ["row_number"]
        constraints = [
            models.UniqueConstraint(
                fields=["purchase_import", "row_number"], name="import_error_once_per_row"
            )
        ]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"


class Segment(models.Model):
    """A named set of members defined by conditions (``SegmentCondition``): conditions in the same
    group must all hold, and a member is in the segment when any group holds. Membership is
    materialised in ``SegmentMember`` by the ``refresh_segments`` job."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    member_count = models.PositiveIntegerField(default=0, editable=False)
    refreshed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class SegmentCondition(models.Model):
    class Field(models.TextChoices):
        TIER = "tier", "Tier is one of (codes in text)"
        DAYS_SINCE_PURCHASE = "days_since_purchase", "Days since the last purchase (number)"
        PURCHASES = "purchases", "Purchases (number) in the last N days (empty: ever)"
        SPEND = "spend", "Spend net of refunds (number) in the last N days (empty: ever)"
        CATEGORY = "category", "Bought a category (text) in the last N days (empty: ever)"
        SKU = "sku", "Bought a SKU (text) in the last N days (empty: ever)"
        STORE = "store", "Enrolled or bought at a store (codes in text)"
        BIRTHDAY_MONTH = "birthday_month", "Birthday month (number 1-12; 0: the current month)"
        JOINED_WITHIN = "joined_within", "Joined in the last N days"
        MARKETING_OPT_IN = "marketing_opt_in", "Opted in to marketing mail"
        PAID_MEMBERSHIP = "paid_membership", "Has a running paid membership (plan codes in text; empty: any)"
        CHALLENGE_COMPLETED = (
            "challenge_completed",
            "Completed a challenge (codes in text; empty: any) in the last N days (empty: ever)",
        )

    class Operator(models.TextChoices):
        AT_LEAST = "gte", "at least"
        AT_MOST = "lte", "at most"
        EQUAL = "eq", "exactly"

    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="conditions")
    group = models.PositiveSmallIntegerField(
        default=1, help_text="Conditions of one group are combined with AND; groups with OR."
    )
    field = models.CharField(max_length=24, choices=Field.choices)
    operator = models.CharField(max_length=3, choices=Operator.choices, default=Operator.AT_LEAST)
    number = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    days = models.PositiveIntegerField(null=True, blank=True, help_text="The last N days (empty: ever).")
    text = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated codes, categories or SKUs."
    )
    negate = models.BooleanField(default=False, help_text="Members for whom the condition does not hold.")

    class Meta:
        ordering = ["segment_id", "group", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(days__isnull=True) | Q(days__lte=36500), name="segment_days_bounded"
            ),
        ]

    def __str__(self) -> str:
        return f"{'not ' if self.negate else ''}{self.get_field_display()}"

    @property
    def text_list(self) -> list[str]:
        return sorted({t.strip().lower() for t in self.text.split(",") if t.strip()})


class SegmentMember(models.Model):
    # No index of their own: the unique (segment, member) and the (member, segment) index lead
    # with each, and the nightly refresh writes many of these rows.
    segment = models.ForeignKey(Segment, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+", db_index=False)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "member"], name="segment_member_once")]
        indexes = [models.Index(fields=["member", "segment"], name="segment_member_by_member")]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.segment_id}"


class OfferQuerySet(ConfigQuerySet):
    # Spent on every purchase under a budget; read from the row, never from a kept copy.
    counters = frozenset({"spent_points"})


class Offer(LineTargeting, models.Model):
    """A personalised offer for the members of a segment (or an uploaded list): a strategy of the
    earning engine like a campaign (``campaigns.engine.strategies``), applied to a member's
    purchase while it is theirs to use, up to ``uses_per_member`` times and within its budget.
    Its awards read ``offer:<code>``."""

    class Kind(models.TextChoices):
        MULTIPLIER = "offer_multiplier", "Base points multiplied on the next purchase"
        SPEND_BONUS = "offer_spend_bonus", "Bonus points above a spend"
        CATEGORY_BONUS = "offer_category_bonus", "Bonus points on a category or SKU"
        REWARD_PRICE = "offer_reward_price", "A reward at a lower price in points"

    # Kinds the earning engine applies to purchases; a reward's price is read when redeeming.
    EARNING_KINDS = (Kind.MULTIPLIER, Kind.SPEND_BONUS, Kind.CATEGORY_BONUS)

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    segment = models.ForeignKey(
        Segment,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="offers",
        help_text="Its members may use the offer; members uploaded to the offer's list may too.",
    )
    multiplier = models.DecimalField(
        max_digits=6, decimal_places=2, default=Decimal("1"), help_text="Multiplier: 2 = base points twice."
    )
    bonus_points = models.PositiveBigIntegerField(default=0, help_text="Bonus kinds.")
    min_spend = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    categories = models.CharField(max_length=500, blank=True, help_text="Comma-separated categories.")
    skus = models.CharField(max_length=500, blank=True, help_text="Comma-separated SKUs.")
    reward = models.ForeignKey(
        "rewards.Reward",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="A reward at a lower price: the reward.",
    )
    reward_points = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="A reward at a lower price: its price in points for these members."
    )
    requires_activation = models.BooleanField(
        default=False, help_text="The member activates it first (a clipped coupon); else it applies itself."
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    days_after_activation = models.PositiveIntegerField(
        null=True, blank=True, help_text="Usable this many days after activation (not after the offer ends)."
    )
    uses_per_member = models.PositiveIntegerField(default=1)
    budget_points = models.PositiveBigIntegerField(null=True, blank=True, help_text="Most points in total.")
    spent_points = models.PositiveBigIntegerField(default=0, editable=False)
    priority = models.IntegerField(default=0, help_text="Higher applies first, among campaigns and offers.")
    exclusive = models.BooleanField(
        default=False, help_text="When it applies, rules of lower priority do not."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    # Kept per process for the purchase path (``campaigns.selectors.offers_may_apply``).
    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="offer_window"),
            models.CheckConstraint(condition=Q(multiplier__gte=1), name="offer_multiplier_at_least_one"),
            models.CheckConstraint(condition=Q(uses_per_member__gte=1), name="offer_uses_at_least_one"),
            models.CheckConstraint(
                condition=Q(budget_points__isnull=True) | Q(spent_points__lte=models.F("budget_points")),
                name="offer_within_budget",
            ),
            models.CheckConstraint(
                condition=~Q(kind="offer_reward_price")
                | Q(reward__isnull=False, reward_points__isnull=False),
                name="offer_reward_price_has_reward",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.kind == self.Kind.REWARD_PRICE:
            if self.reward_id is None or self.reward_points is None:
                raise ValidationError("A reward at a lower price needs the reward and its price in points.")
            if self.reward_points >= self.reward.points_cost:
                raise ValidationError(
                    {"reward_points": f"Lower than the reward's {self.reward.points_cost} points."}
                )

    @property
    def source(self) -> str:
        return f"offer:{self.code}"


class OfferTarget(models.Model):
    """A member uploaded to an offer's list: the offer is theirs whatever their segments."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="targets")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["offer", "member"], name="offer_target_once")]

    def __str__(self) -> str:
        return f"{self.member_id} for {self.offer_id}"


class OfferActivation(models.Model):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="activations")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    activated_at = models.DateTimeField()
    valid_until = models.DateTimeField()
    channel = models.CharField(max_length=10, default="portal")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["offer", "member"], name="offer_activation_once"),
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("activated_at")), name="offer_activation_window"
            ),
        ]
        indexes = [models.Index(fields=["member", "offer"], name="offer_activation_by_member")]

    def __str__(self) -> str:
        return f"{self.member_id} activated {self.offer_id}"


class OfferUse(models.Model):
    """One purchase (or, for a reward at a lower price, one redemption) that used an offer.
    ``sequence`` counts a member's uses of the offer, so the database refuses a use past
    ``uses_per_member`` twice over (with the member's lock). ``points``: what the offer gave,
    awarded on the purchase or taken off the reward's price."""

    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="uses")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    redemption = models.OneToOneField(
        "rewards.Redemption", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sequence = models.PositiveIntegerField()
    points = models.PositiveBigIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    used_at = models.DateTimeField(default=timezone.now)
    returned_at = models.DateTimeField(
        null=True, blank=True, help_text="Given back by a full refund: the member may use the offer again."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["offer", "member", "sequence"], name="offer_use_sequence_once"),
            models.UniqueConstraint(fields=["offer", "purchase"], name="offer_use_once_per_purchase"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="offer_use_sequence_positive"),
            models.CheckConstraint(
                condition=Q(purchase__isnull=False, redemption__isnull=True)
                | Q(purchase__isnull=True, redemption__isnull=False),
                name="offer_use_purchase_or_redemption",
            ),
        ]
        indexes = [models.Index(fields=["member", "offer"], name="offer_use_by_member")]

    def __str__(self) -> str:
        return f"{self.member_id} used {self.offer_id} ({self.sequence})"


class OfferMail(models.Model):
    """The offer's mail went to this member (once)."""

    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="mails")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["offer", "member"], name="offer_mail_once")]

    def __str__(self) -> str:
        return f"{self.offer_id} mailed to {self.member_id}"


# Challenges, badges, streaks and events live in their own module of this app.
from .engagement.models import (  # noqa: E402, F401
    Badge,
    Challenge,
    ChallengeCompletion,
    ChallengeProgress,
    EngagementProfile,
    Event,
    EventCheckIn,
    EventRsvp,
    MemberBadge,
    StreakMilestone,
    StreakReward,
)
