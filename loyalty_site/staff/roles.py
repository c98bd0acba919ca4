"""The staff roles, as auth groups, and what each may do.

The groups are made by a data migration and brought up to date after every ``migrate``
(``post_migrate``), so permissions of models added later (campaigns, rewards, job runs) reach
the program managers without another migration. A permission that does not exist yet is
skipped, never an error.
"""

from __future__ import annotations

PROGRAM_MANAGER = "Program manager"
SUPPORT_AGENT = "Support agent"
STORE_MANAGER = "Store manager"

# "app_label.codename"; the program manager has every permission there is.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    SUPPORT_AGENT: [
        "members.view_member",
        "members.view_ledgerentry",
        "members.view_pointlot",
        "members.view_purchase",
        "members.view_purchaseline",
        "members.view_refund",
        "members.view_tierchange",
        "members.view_tier",
        "members.view_store",
        "staff.add_adjustmentrequest",
        "staff.view_adjustmentrequest",
        "staff.resend_member_mail",
        "staff.access_all_stores",
        "rewards.view_redemption",
        "rewards.view_voucher",
    ],
    STORE_MANAGER: [
        "members.view_store",
        "members.view_purchase",
        "members.view_purchaseline",
        "members.view_refund",
        "members.view_apikey",
        "members.add_apikey",
        "members.change_apikey",
    ],
}


def staff_roles_sync(apps=None) -> None:
    """Create the three groups and give each exactly its permissions (idempotent)."""
    if apps is None:
        from django.apps import apps
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")

    manager, _ = group_model.objects.get_or_create(name=PROGRAM_MANAGER)
    manager.permissions.set(permission_model.objects.all())
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = permission_model.objects.none()
        for name in names:
            app_label, codename = name.split(".", 1)
            wanted = wanted | permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            )
        group.permissions.set(wanted)
