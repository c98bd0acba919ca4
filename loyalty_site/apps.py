from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_staff_roles(sender, **kwargs) -> None:
    from .staff.roles import staff_roles_sync

    staff_roles_sync()


class LoyaltySiteConfig(AppConfig):
    name = "loyalty_site"
    verbose_name = "Loyalty site"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (admin history mirrored into the audit events)

        # After every migrate, once all apps' permissions exist.
        post_migrate.connect(_sync_staff_roles, sender=self, dispatch_uid="loyalty_site_staff_roles")
