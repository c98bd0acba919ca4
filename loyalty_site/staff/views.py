from django.contrib.admin.views.decorators import staff_member_required
from django.shortcuts import render

from members.ledger.invariants import ledger_violations
from members.models import Member


@staff_member_required
def dashboard(request):
    return render(
        request,
        "staff/dashboard.html",
        {"member_count": Member.objects.count(), "violations": ledger_violations()[:20]},
    )
