"""Personalised offers: which offers a member may use, activating one (clipping a coupon), and
what the purchase path needs to apply them as rules of the earning engine.

An offer is the member's when they are in its segment (``SegmentMember``, kept by the
``refresh_segments`` job) or on its uploaded list (``OfferTarget``). An offer that
``requires_activation`` applies only to purchases dated between the member's activation and
its ``valid_until``; any other applies by itself while it runs. Either way it applies at most
``uses_per_member`` times per member and within its budget, and every use is an ``OfferUse``
row for the purchase, written in the purchase's transaction with the member's row locked.

Each read here is one query, whatever the number of offers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, F, IntegerField, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from members.config import cached
from members.models import Member, Purchase
from rewards.pricing import PriceCut

from .budgets import budget_take, budget_take_all
from .engine.applicator import Grant, SourceAward
from .errors import OfferNotFound
from .models import Campaign, Offer, OfferActivation, OfferTarget, OfferUse, SegmentMember
from .selectors import offers_may_apply


@dataclass(frozen=True)
class MemberOffer:
    offer: Offer
    activated: bool
    valid_until: datetime

    @property
    def code(self) -> str:
        return self.offer.code


def _targeted(member_id: int) -> Q:
    """Offers meant for the member: through their segment or the offer's uploaded list."""
    return Q(
        Exists(SegmentMember.objects.filter(segment_id=OuterRef("segment_id"), member_id=member_id))
    ) | Q(Exists(OfferTarget.objects.filter(offer_id=OuterRef("pk"), member_id=member_id)))


def _with_member_state(offers: QuerySet[Offer], member_id: int) -> QuerySet[Offer]:
    """Annotate each offer with the member's activation (``activated_at``, ``activated_until``),
    how many times they used it (``uses_so_far``; a use a full refund gave back does not count)
    and the sequence of their last use, given back or not (``last_sequence``)."""
    activation = OfferActivation.objects.filter(offer_id=OuterRef("pk"), member_id=member_id)
    member_uses = OfferUse.objects.filter(offer_id=OuterRef("pk"), member_id=member_id).values("offer_id")
    uses = member_uses.filter(returned_at__isnull=True).annotate(n=Count("pk")).values("n")
    last = member_uses.annotate(last=Max("sequence")).values("last")
    return offers.annotate(
        activated_at=Subquery(activation.values("activated_at")[:1]),
        activated_until=Subquery(activation.values("valid_until")[:1]),
        uses_so_far=Coalesce(Subquery(uses, output_field=IntegerField()), Value(0)),
        last_sequence=Coalesce(Subquery(last, output_field=IntegerField()), Value(0)),
    )


def _open_offers(member_id: int, at: datetime) -> QuerySet[Offer]:
    """Offers running at ``at`` that the member has not used up."""
    offers = Offer.objects.filter(is_active=True, starts_at__lte=at, ends_at__gt=at)
    return _with_member_state(offers, member_id).filter(uses_so_far__lt=F("uses_per_member"))


def member_offers(member: Member, *, now: datetime | None = None) -> list[MemberOffer]:
    """The offers the member may use now (one query): meant for them, running, not used up,
    and, once activated, not past their activation's ``valid_until``."""
    now = now or timezone.now()
    offers = (
        _open_offers(member.pk, now)
        .filter(_targeted(member.pk) | Q(requires_activation=True, activated_at__isnull=False))
        # (a filter, not exclude(): no activation reads NULL, which NOT would drop)
        .filter(Q(requires_activation=False) | Q(activated_until__isnull=True) | Q(activated_until__gte=now))
        .select_related("reward")
        .order_by("-priority", "ends_at", "code")
    )
    found = [
        MemberOffer(
            offer,
            activated=offer.activated_at is not None or not offer.requires_activation,
            valid_until=(offer.activated_until if offer.requires_activation else None) or offer.ends_at,
        )
        for offer in offers
    ]
    # A page that lists the member's offers and prices rewards for them (the dashboard) asks once.
    member.__dict__[_OFFERS_READ] = (now, found)
    return found


_OFFERS_READ = "_member_offers_read"


def _usable_at(member_id: int, at: datetime) -> QuerySet[Offer]:
    """The offers the member may use at ``at``: auto-applied offers meant for them, and
    activated offers whose activation covers ``at``."""
    activated = Q(requires_activation=True, activated_at__lte=at, activated_until__gte=at)
    automatic = Q(requires_activation=False) & _targeted(member_id)
    return _open_offers(member_id, at).filter(activated | automatic)


def offers_for_purchase(*, member_id: int, at: datetime) -> list[Offer]:
    """The offers a purchase dated ``at`` may use (one query). Read with the member locked."""
    return list(_usable_at(member_id, at).filter(kind__in=Offer.EARNING_KINDS).order_by("-priority", "pk"))


class OfferRewardPrices:
    """Offers of a reward at a lower price, as a ``rewards.pricing`` price source. The rewards
    such offers are for are kept per process (``members.config``), so a redemption or a catalog
    with none of them asks nothing; otherwise one query, as ``offers_for_purchase``."""

    def cuts(self, member: Member, rewards, at: datetime) -> dict[int, PriceCut]:
        offered = cached("offers.reward_prices", _rewards_offered)
        ids = [reward.pk for reward in rewards if reward.pk in offered]
        if not ids:
            return {}
        read_at, read = member.__dict__.get(_OFFERS_READ, (None, None))
        if read is not None and abs((at - read_at).total_seconds()) < 1:
            # The offers this member may use, read a moment ago for the same page.
            offers = [o.offer for o in read if o.activated and o.offer.kind == Offer.Kind.REWARD_PRICE]
        else:
            offers = _usable_at(member.pk, at).filter(kind=Offer.Kind.REWARD_PRICE, reward_id__in=ids)
        cuts: dict[int, PriceCut] = {}
        # The lowest price first; among equal ones, as the engine orders rules.
        for offer in sorted(offers, key=lambda o: (o.reward_points, -o.priority, o.pk)):
            if offer.reward_id in ids and offer.reward_id not in cuts:
                cuts[offer.reward_id] = PriceCut(offer.reward_points, offer.source, offer.name, offer)
        return cuts

    def use(self, *, member: Member, reward, cut: PriceCut, redemption) -> bool:
        offer: Offer = cut.ref
        discount = reward.points_cost - cut.points
        if not budget_take_all(offer, discount):
            return False
        OfferUse.objects.create(
            offer=offer,
            member=member,
            redemption=redemption,
            sequence=offer.last_sequence + 1,
            points=discount,
            amount=Decimal("0"),
            used_at=redemption.created_at,
        )
        return True


def _rewards_offered() -> frozenset[int]:
    rows = Offer.objects.filter(kind=Offer.Kind.REWARD_PRICE, is_active=True, ends_at__gt=timezone.now())
    return frozenset(rows.values_list("reward_id", flat=True))


def offers_grant(campaign_grant: Grant) -> Grant:
    """The applicator's ``grant``: offers take from their own budget (uses per member were
    checked when they were read), campaigns go through ``campaign_grant``."""

    def grant(rule: Campaign | Offer, points: int) -> int:
        if isinstance(rule, Offer):
            return budget_take(rule, points)
        return campaign_grant(rule, points)

    return grant


def offer_uses_record(
    *, member_id: int, purchase: Purchase, awards: Iterable[SourceAward], now: datetime
) -> None:
    """Record the offers a new purchase used (one statement, none when it used none)."""
    uses = [
        OfferUse(
            offer=award.offer,
            member_id=member_id,
            purchase=purchase,
            sequence=getattr(award.offer, "last_sequence", 0) + 1,
            points=award.points,
            amount=purchase.amount,
            used_at=now,
        )
        for award in awards
        if award.offer is not None
    ]
    if uses:
        OfferUse.objects.bulk_create(uses)


def offer_uses_return(*, purchase: Purchase, now: datetime) -> int:
    """A fully refunded purchase gives back the offer uses it took, so the member may use each
    offer again (its points were reversed with the purchase's). One UPDATE; none when no offer
    ran when it was bought."""
    if not offers_may_apply(at=purchase.purchased_at):
        return 0
    return OfferUse.objects.filter(purchase=purchase, returned_at__isnull=True).update(returned_at=now)


def offer_activate(
    *, member: Member, code: str, channel: str = "portal", now: datetime | None = None
) -> MemberOffer:
    """Activate an offer meant for the member; activating it again changes nothing. An offer
    that is not theirs to use now is ``OfferNotFound``."""
    now = now or timezone.now()
    with transaction.atomic():
        found = next((o for o in member_offers(member, now=now) if o.code == code), None)
        if found is None:
            raise OfferNotFound()
        if found.activated and found.offer.activated_at is not None:
            return found
        offer = found.offer
        valid_until = offer.ends_at
        if offer.requires_activation and offer.days_after_activation is not None:
            valid_until = min(valid_until, now + timedelta(days=offer.days_after_activation))
        try:
            with transaction.atomic():
                activation = OfferActivation.objects.create(
                    offer=offer,
                    member=member,
                    activated_at=now,
                    valid_until=valid_until,
                    channel=channel[:10],
                )
        except IntegrityError:  # activated at the same moment by another request
            activation = OfferActivation.objects.get(offer=offer, member=member)
        offer.activated_at, offer.activated_until = activation.activated_at, activation.valid_until
        member.__dict__.pop(_OFFERS_READ, None)  # what was read before no longer holds
        return MemberOffer(offer, activated=True, valid_until=activation.valid_until)


def offer_targets_upload(*, offer: Offer, member_numbers: Iterable[str]) -> tuple[int, list[str]]:
    """Add members by number to the offer's list; returns how many were added and the numbers
    that matched no member."""
    numbers = sorted({n.strip() for n in member_numbers if n and n.strip()})
    found = dict(Member.objects.filter(member_number__in=numbers).values_list("member_number", "pk"))
    with transaction.atomic():
        before = OfferTarget.objects.filter(offer=offer).count()
        OfferTarget.objects.bulk_create(
            [OfferTarget(offer=offer, member_id=pk) for pk in found.values()], ignore_conflicts=True
        )
        added = OfferTarget.objects.filter(offer=offer).count() - before
    return added, [n for n in numbers if n not in found]


@dataclass(frozen=True)
class OfferFigures:
    """Per offer: members it was meant for, how many activated (for an offer that applies by
    itself: used it), uses and their points, and the spend of those who took it above what
    the same number of members who did not would have spent (None until both groups exist)."""

    targeted: int = 0
    activated: int = 0
    used: int = 0
    points: int = 0
    took_spend: Decimal = Decimal("0")
    other_spend: Decimal = Decimal("0")
    others: int = 0

    @property
    def incremental_spend(self) -> Decimal | None:
        if not self.activated or not self.others:
            return None
        per_taker = self.took_spend / self.activated
        per_other = self.other_spend / self.others
        return ((per_taker - per_other) * self.activated).quantize(Decimal("0.01"))


_FIGURES_SQL = """
WITH targeted AS (
    SELECT o.id AS offer_id, sm.member_id FROM campaigns_offer o
    JOIN campaigns_segmentmember sm ON sm.segment_id = o.segment_id WHERE o.id IN ({ids})
    UNION SELECT t.offer_id, t.member_id FROM campaigns_offertarget t WHERE t.offer_id IN ({ids})
    UNION SELECT a.offer_id, a.member_id FROM campaigns_offeractivation a WHERE a.offer_id IN ({ids})
), grouped AS (
    SELECT tg.offer_id,
        CASE WHEN EXISTS (SELECT 1 FROM campaigns_offeractivation a WHERE a.offer_id = tg.offer_id
                          AND a.member_id = tg.member_id AND o.requires_activation)
                  OR EXISTS (SELECT 1 FROM campaigns_offeruse u WHERE u.offer_id = tg.offer_id
                             AND u.member_id = tg.member_id AND NOT o.requires_activation)
             THEN 1 ELSE 0 END AS took,
        COALESCE((SELECT SUM(p.amount - p.refunded_amount) FROM members_purchase p
                  WHERE p.member_id = tg.member_id AND p.purchased_at >= o.starts_at
                  AND p.purchased_at < o.ends_at), 0) AS spend
    FROM targeted tg JOIN campaigns_offer o ON o.id = tg.offer_id
)
SELECT offer_id, COUNT(*), SUM(took), SUM(CASE WHEN took = 1 THEN spend ELSE 0 END),
       SUM(CASE WHEN took = 1 THEN 0 ELSE spend END)
FROM grouped GROUP BY offer_id
"""


def offer_figures(offers: Iterable[Offer]) -> dict[int, OfferFigures]:
    """Figures of each offer (two queries, whatever the number of offers)."""
    ids = [int(offer.pk) for offer in offers]
    if not ids:
        return {}
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(_FIGURES_SQL.format(ids=placeholders), [*ids, *ids, *ids])
        rows = {row[0]: row[1:] for row in cursor.fetchall()}
    uses = {
        row["offer_id"]: row
        for row in OfferUse.objects.filter(offer_id__in=ids, returned_at__isnull=True)
        .values("offer_id")
        .annotate(n=Count("pk"), points=Sum("points"))
    }
    figures = {}
    for pk in ids:
        targeted, took, took_spend, other_spend = rows.get(pk, (0, 0, 0, 0))
        use = uses.get(pk, {})
        figures[pk] = OfferFigures(
            targeted=int(targeted),
            activated=int(took or 0),
            used=int(use.get("n", 0)),
            points=int(use.get("points") or 0),
            took_spend=_decimal(took_spend),
            other_spend=_decimal(other_spend),
            others=int(targeted) - int(took or 0),
        )
    return figures


def _decimal(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))
