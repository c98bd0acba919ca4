from django.apps import AppConfig


class LoyaltySiteConfig(AppConfig):
    """The wiring: settings, root URLs, the Celery app, the API router, the site's own pages
    and the operator commands that span apps (``seed_demo``, ``serve``)."""

    name = "loyalty_site"
    verbose_name = "Loyalty site"
