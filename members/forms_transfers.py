"""The portal's transfer form: who to send points to (member number and surname) and how many."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class TransferForm(forms.Form):
    member_number = forms.CharField(
        label=_("Their member number"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    last_name = forms.CharField(
        label=_("Their surname"),
        max_length=150,
        help_text=_("As on their membership: both must match."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    points = forms.IntegerField(label=_("Points to send"), min_value=1, max_value=10**9)
    message = forms.CharField(label=_("Message (optional)"), max_length=140, required=False)


class TransferConfirmForm(TransferForm):
    """The same fields, carried hidden through the confirmation step, and the key that makes
    sending once however often the button is pressed."""

    token = forms.CharField(max_length=64, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("member_number", "last_name", "points", "message"):
            self.fields[name].widget = forms.HiddenInput()
