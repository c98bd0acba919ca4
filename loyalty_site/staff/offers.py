"""Figures of the personalised offers for the staff portal, per offer: the members it was meant
for, how many took it (activated it, or used one that applies by itself), its uses and the points
they gave (or took off a reward's price), and the spend of those who took it above what the same
number of members who did not would have spent. Offers that run now or ended in the last
``RECENT_DAYS``; two queries whatever the number of offers (``campaigns.offers.offer_figures``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import django_tables2 as tables
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Offer
from campaigns.offers import offer_figures

from .tables import NUM, FigureTable

RECENT_DAYS = 90


@dataclass(frozen=True)
class OfferRow:
    offer: str
    kind: str
    audience: str
    targeted: int
    activated: int
    used: int
    points: int
    incremental_spend: Decimal | None


def offer_rows(*, as_of: datetime) -> list[OfferRow]:
    offers = list(
        Offer.objects.filter(starts_at__lte=as_of, ends_at__gt=as_of - timedelta(days=RECENT_DAYS))
        .select_related("segment")
        .order_by("-starts_at", "code")
    )
    figures = offer_figures(offers)
    rows = []
    for offer in offers:
        f = figures[offer.pk]
        rows.append(
            OfferRow(
                offer=f"{offer.name} ({offer.code})",
                kind=offer.get_kind_display(),
                audience=offer.segment.name if offer.segment else _("Uploaded list"),
                targeted=f.targeted,
                activated=f.activated,
                used=f.used,
                points=f.points,
                incremental_spend=f.incremental_spend,
            )
        )
    return rows


class OfferTable(FigureTable):
    offer = tables.Column(verbose_name=gettext_lazy("Offer"))
    kind = tables.Column(verbose_name=gettext_lazy("Kind"))
    audience = tables.Column(verbose_name=gettext_lazy("For"))
    targeted = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Targeted"))
    activated = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Took it"))
    used = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Uses"))
    points = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Points given"))
    incremental_spend = tables.Column(attrs=NUM, verbose_name=gettext_lazy("Incremental spend"), default="–")


def offer_tables(*, as_of: datetime) -> dict[str, FigureTable]:
    return {"offers": OfferTable(offer_rows(as_of=as_of))}
