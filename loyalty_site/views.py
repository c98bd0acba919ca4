from django.shortcuts import render

from members.models import Program, Tier


def home(request):
    return render(
        request,
        "home.html",
        {"program": Program.load(), "tiers": Tier.objects.order_by("rank")},
    )
