from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"

    def ready(self) -> None:
        from members.privacy import export_section_register

        from . import receivers  # noqa: F401
        from .privacy import activities_export

        export_section_register("activities", activities_export)
