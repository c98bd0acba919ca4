from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import Tier


class TierDraftForm(forms.Form):
    """A threshold and a multiplier per tier, named ``<code>-threshold`` and
    ``<code>-multiplier``. The service checks the draft as a whole."""

    def __init__(self, *args, tiers: list[Tier], initial_draft: dict[str, dict[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.tiers = tiers
        for tier in tiers:
            values = initial_draft.get(tier.code, {})
            self.fields[f"{tier.code}-threshold"] = forms.DecimalField(
                label=_("%(tier)s threshold") % {"tier": tier.name},
                min_value=Decimal("0"),
                max_digits=12,
                decimal_places=2,
                initial=values.get("threshold", tier.threshold),
            )
            self.fields[f"{tier.code}-multiplier"] = forms.DecimalField(
                label=_("%(tier)s multiplier") % {"tier": tier.name},
                min_value=Decimal("0.01"),
                max_digits=5,
                decimal_places=2,
                initial=values.get("multiplier", tier.multiplier),
            )

    def rows(self):
        for tier in self.tiers:
            yield tier, self[f"{tier.code}-threshold"], self[f"{tier.code}-multiplier"]

    def draft(self) -> dict[str, dict[str, str]]:
        return {
            tier.code: {
                "threshold": str(self.cleaned_data[f"{tier.code}-threshold"]),
                "multiplier": str(self.cleaned_data[f"{tier.code}-multiplier"]),
            }
            for tier in self.tiers
        }


class AdjustmentForm(forms.Form):
    points = forms.IntegerField(
        label=gettext_lazy("Points"),
        help_text=gettext_lazy("Points to add; a negative number removes points. Zero is not an adjustment."),
    )
    reason = forms.CharField(
        max_length=255,
        widget=forms.Textarea(attrs={"rows": 3}),
        label=gettext_lazy("Reason"),
        help_text=gettext_lazy("Why: the member sees it in their history."),
    )

    def clean_points(self) -> int:
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("An adjustment is not zero points."))
        return points
