"""The dashboard's offers and recommended rewards. The dashboard belongs to ``members``, which
never imports this app; its template loads these tags instead (a fixed number of queries)."""

from __future__ import annotations

from django import template

from members.models import Member

from ..offers import member_offers
from ..recommendations import recommended_rewards

register = template.Library()


@register.inclusion_tag("campaigns/_dashboard_offers.html")
def dashboard_offers(member: Member) -> dict:
    return {"offers": member_offers(member), "recommendations": recommended_rewards(member)}
