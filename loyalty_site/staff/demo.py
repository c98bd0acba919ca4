"""Demo logins for the staff roles other than the program manager (the superuser made by
``members.demo``): a support agent, and a store manager of the demo store."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group

from members.api_keys import store_get_or_create
from members.demo import STAFF_LOGIN, demo_login
from members.models import User

from .models import StoreManager
from .roles import STORE_MANAGER, SUPPORT_AGENT, staff_roles_sync

SUPPORT_LOGIN = ("support@example.com", "demo-support-2026")
# Published, like the demo passwords: two-factor login for the demo's staff (see two_factor).
DEMO_TOTP_SECRET = "LOYALTYDEMOSTAFFKEYFORTHETILLAPP"
STORE_MANAGER_LOGIN = ("manager@example.com", "demo-manager-2026")
DEMO_STORE = "Demo Store"


def seed_demo(out) -> None:
    staff_roles_sync()
    support = demo_login(*SUPPORT_LOGIN, is_staff=True, first_name="Sasha", last_name="Support")
    support.groups.add(Group.objects.get(name=SUPPORT_AGENT))
    manager = demo_login(*STORE_MANAGER_LOGIN, is_staff=True, first_name="Morgan", last_name="Manager")
    manager.groups.add(Group.objects.get(name=STORE_MANAGER))
    StoreManager.objects.get_or_create(user=manager, store=store_get_or_create(name=DEMO_STORE))
    out.write(f"  support agent: {SUPPORT_LOGIN[0]} / {SUPPORT_LOGIN[1]}  (admin, read-only members)")
    out.write(f"  store manager: {STORE_MANAGER_LOGIN[0]} / {STORE_MANAGER_LOGIN[1]}  (admin, {DEMO_STORE})")
    for email in [STAFF_LOGIN[0], SUPPORT_LOGIN[0], STORE_MANAGER_LOGIN[0]]:
        demo_two_factor(User.objects.get(email=email))
    out.write(
        f"  staff then enter the code of an authenticator app holding the secret {DEMO_TOTP_SECRET}"
        f" (or `oathtool --totp -b {DEMO_TOTP_SECRET}`)"
    )


def demo_two_factor(user: User) -> None:
    """The demo's staff have two-factor login set up with one published secret (idempotent)."""
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists():
        RecoveryCodes.activate(user)
