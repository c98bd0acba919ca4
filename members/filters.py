from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .models import LedgerEntry


class LedgerFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(
        choices=LedgerEntry.Kind.choices, empty_label=_("All types"), label=_("Type")
    )
    since = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        label=_("From"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        label=_("To"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = LedgerEntry
        fields = ["kind", "since", "until"]
