"""Per-key throttling. ``API_THROTTLE_RATE`` is ``100/s``, ``6000/min`` or ``off``."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .authentication import StoreClient


class StoreKeyThrottle(SimpleRateThrottle):
    scope = "store_key"

    def get_rate(self) -> str | None:
        rate = settings.API_THROTTLE_RATE
        return None if not rate or rate.lower() == "off" else rate

    def parse_rate(self, rate):
        if rate is None:
            return (None, None)
        count, _, period = rate.partition("/")
        seconds = {
            "s": 1,
            "sec": 1,
            "second": 1,
            "m": 60,
            "min": 60,
            "minute": 60,
            "h": 3600,
            "hour": 3600,
            "d": 86400,
            "day": 86400,
        }[period.strip().lower()]
        return int(count), seconds

    def get_cache_key(self, request, view) -> str | None:
        if isinstance(request.user, StoreClient):
            return self.cache_format % {"scope": self.scope, "ident": request.user.key.pk}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
