"""Forms of the member portal and the extra fields of the sign-up form."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .models import Member, User

REFERRAL_SESSION_KEY = "loyalty_referral_code"


class SignupForm(forms.Form):
    """Fields allauth's sign-up form gains (``ACCOUNT_SIGNUP_FORM_CLASS``): a name for the
    membership and the code of the friend who invited the member."""

    first_name = forms.CharField(
        label=_("First name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "given-name"})
    )
    last_name = forms.CharField(
        label=_("Last name"),
        max_length=150,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "family-name"}),
    )
    referral_code = forms.CharField(
        label=_("Friend's referral code"),
        max_length=12,
        required=False,
        help_text=_("Optional: the code from the link a friend sent you."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    marketing_opt_in = forms.BooleanField(label=_("Keep me posted about offers and news"), required=False)

    field_order = [
        "first_name",
        "last_name",
        "email",
        "password1",
        "password2",
        "referral_code",
        "marketing_opt_in",
    ]

    def clean_referral_code(self) -> str:
        code = self.cleaned_data["referral_code"].strip().upper()
        if code and not Member.objects.filter(referral_code=code).exists():
            raise forms.ValidationError(_("We do not know this code. Check it, or leave the field empty."))
        return code

    def signup(self, request: HttpRequest, user: User) -> None:
        """Keep the referral code with the new login until its email address is verified and
        the member enrolled."""
        # The field starts with the code of the link (see AccountAdapter): a member who cleared
        # it was not referred; a post without the field keeps the link's code.
        linked = request.session.pop(REFERRAL_SESSION_KEY, "")
        code = self.cleaned_data.get("referral_code") if "referral_code" in self.data else linked
        user.signup_referral_code = code or ""
        user.signup_marketing_opt_in = bool(self.cleaned_data.get("marketing_opt_in"))
        user.save(update_fields=["signup_referral_code", "signup_marketing_opt_in"])


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Member
        fields = [
            "first_name",
            "last_name",
            "birth_date",
            "marketing_opt_in",
            "reminder_opt_in",
            "leaderboard_opt_in",
        ]
        labels = {
            "birth_date": _("Birthday"),
            "marketing_opt_in": _("Send me offers and news by email"),
            "reminder_opt_in": _("Remind me before my points expire"),
            "leaderboard_opt_in": _("Show my first name on challenge leaderboards"),
        }
        help_texts = {
            "birth_date": _("We give you bonus points on your birthday. It can be set once."),
        }
        widgets = {
            "first_name": forms.TextInput(attrs={"autocomplete": "given-name"}),
            "last_name": forms.TextInput(attrs={"autocomplete": "family-name"}),
            "birth_date": forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.birth_date:
            self.fields["birth_date"].disabled = True
            self.fields["birth_date"].help_text = _("Set. Ask us if it is wrong.")


class CloseAccountForm(forms.Form):
    """Closing an account asks for the password again: it cannot be undone."""

    password = forms.CharField(
        label=_("Your password"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("That is not your password."))
        return password
