from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .selectors import member_for_user, member_recent_entries


@login_required
def dashboard(request):
    member = member_for_user(request.user)
    entries = member_recent_entries(member) if member else []
    return render(request, "members/dashboard.html", {"member": member, "entries": entries})
