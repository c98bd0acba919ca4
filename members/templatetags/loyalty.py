"""Template filters of the portal: ``{{ amount|money:program.currency }}``."""

from __future__ import annotations

from decimal import Decimal

from django import template

from ..formats import money as format_money

register = template.Library()


@register.filter
def money(amount: Decimal | int | None, currency: str) -> str:
    return "" if amount is None else format_money(amount, currency)
