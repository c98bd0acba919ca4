"""Engagement panels the core's portal pages show (the streak on the dashboard, badges on the
profile): ``members`` templates load these tags; ``members`` code never imports ``campaigns``."""

from django import template

from campaigns.engagement.selectors import member_badges, member_streak

register = template.Library()


@register.inclusion_tag("campaigns/_streak_card.html")
def streak_card(member):
    return {"streak": member_streak(member)}


@register.inclusion_tag("campaigns/_badges_card.html")
def badges_card(member):
    return {"badges": member_badges(member)}
