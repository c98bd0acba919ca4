from django.apps import AppConfig


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = "Members and points"

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects the allauth signal receivers)
        from .config import watch
        from .models import ApiKey, Program, Store, Tier
        from .webhooks import tasks  # noqa: F401  (registers the webhook tasks)

        watch(Program, Tier, Store, ApiKey)
