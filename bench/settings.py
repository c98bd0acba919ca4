"""Settings for benchmark runs: the site's settings with the ``bench`` app (its management
commands) installed. ``make bench`` uses them; the site itself never does."""

from loyalty_site.settings.base import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405
