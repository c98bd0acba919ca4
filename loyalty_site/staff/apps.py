from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_staff_roles(sender, **kwargs) -> None:
    from .roles import staff_roles_sync

    staff_roles_sync()


class StaffConfig(AppConfig):
    """The staff side of the program: maker-checker adjustments, store managers, tier drafts,
    the figures and what-if pages, and the admin views that need staff rules."""

    name = "loyalty_site.staff"
    label = "staff"
    verbose_name = "Staff"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (admin history mirrored into the audit events)

        # After every migrate, once all apps' permissions exist.
        post_migrate.connect(_sync_staff_roles, sender=self, dispatch_uid="staff_roles_sync")
