"""Policy hooks of earning in one place: how points round and which referrals are refused.
A program that wants other rules points ``LOYALTY_EARNING_POLICY`` at a subclass."""

from __future__ import annotations

import math
from datetime import datetime
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from members.identity import same_person
from members.models import Member, Program


class EarningPolicy:
    def round_points(self, value: Decimal) -> int:
        """Points are whole: always rounded down (per purchase line)."""
        return max(0, math.floor(value))

    def round_points_sql(self, expression: str) -> str:
        """``round_points`` in SQL, for settlement (``expression`` is never negative there)."""
        return f"CAST(FLOOR({expression}) AS BIGINT)"

    def is_self_referral(self, referrer: Member, referred: Member) -> bool:
        return referrer.pk == referred.pk or same_person(
            email=referrer.email, phone=referrer.phone, other_email=referred.email, other_phone=referred.phone
        )

    def referral_refusal(
        self, *, referrer: Member, referred: Member, rewarded_this_month: int, program: Program, now: datetime
    ) -> str:
        """Why a referral earns nothing, or "" when it earns."""
        if self.is_self_referral(referrer, referred):
            return "self_referral"
        if referrer.status != Member.Status.ACTIVE:
            return "referrer_inactive"
        if rewarded_this_month >= program.referral_monthly_cap:
            return "monthly_cap"
        return ""


@cache
def get_policy() -> EarningPolicy:
    path = getattr(settings, "LOYALTY_EARNING_POLICY", "campaigns.policy.EarningPolicy")
    return import_string(path)()
