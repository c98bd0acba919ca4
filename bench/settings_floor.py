"""Settings of ``make bench-api``: production's, with the bare floor views of ``bench.floor``
answering ``/floor/...`` ahead of every middleware. The site itself is untouched; nothing of
this is reachable under the production settings."""

from loyalty_site.settings.production import *  # noqa: F403
from loyalty_site.settings.production import MIDDLEWARE

MIDDLEWARE = ["bench.floor.FloorMiddleware", *MIDDLEWARE]
