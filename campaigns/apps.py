from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed

        from members.config import config_changed, watch

        from . import receivers  # noqa: F401
        from .models import Campaign

        watch(Campaign)
        for through in (Campaign.tiers.through, Campaign.stores.through):
            uid = f"campaigns.config.{through.__name__}"
            m2m_changed.connect(config_changed, sender=through, dispatch_uid=uid, weak=False)
