"""The earning engine: pure computation of a purchase's points, line by line, from the base
rate, the tier multiplier and the campaigns that apply. No database writes here; the caller
passes a ``grant`` function that enforces caps and budgets (see ``campaigns.services``)."""

from .applicator import Applicator, EarningResult, LineInput, PurchaseContext, SourceAward

__all__ = ["Applicator", "EarningResult", "LineInput", "PurchaseContext", "SourceAward"]
