from decimal import Decimal

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from members.models import Program, Tier
from members.views import money


def home(request: HttpRequest) -> HttpResponse:
    program = Program.load()
    by_points = program.tier_metric == Program.TierMetric.POINTS
    tiers = [
        {
            "tier": tier,
            "to_reach": (
                f"Earn {tier.threshold:,.0f} points"
                if by_points
                else f"Spend {money(tier.threshold, program.currency)}"
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
