from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import formats
from django.utils.translation import gettext as _

from members.models import Program, Tier
from members.views import money


def home(request: HttpRequest) -> HttpResponse:
    program = Program.load()
    by_points = program.tier_metric == Program.TierMetric.POINTS
    tiers = [
        {
            "tier": tier,
            "to_reach": (
                _("Earn %(points)s points")
                % {"points": formats.number_format(tier.threshold, 0, use_l10n=True, force_grouping=True)}
                if by_points
                else _("Spend %(amount)s") % {"amount": money(tier.threshold, program.currency)}
            ),
        }
        for tier in Tier.objects.order_by("rank")
    ]
    basket = Decimal("50")
    return render(
        request,
        "home.html",
        {
            "program": program,
            "tiers": tiers,
            "point_worth": money(program.point_value * 100, program.currency),
            "example_spend": money(basket, program.currency),
            "example_points": int(basket * program.base_earn_rate),
            "per_unit": money(Decimal("1"), program.currency),
        },
    )
