"""API throttling: per key (``API_THROTTLE_RATE``), and per client address for requests whose
key is wrong (``API_FAILED_KEY_RATE``), so keys cannot be guessed at speed. Rates are written
``100/s``, ``6000/min`` or ``off``. The client address honours ``ALLAUTH_TRUSTED_PROXY_COUNT``
(DRF's ``NUM_PROXIES``): with no proxy declared, ``X-Forwarded-For`` is ignored, so a client
cannot pick its own address."""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

PERIOD_SECONDS = {
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
}


class ConfiguredRateThrottle(SimpleRateThrottle):
    """A throttle whose rate is a setting (``rate_setting``), with ``off`` for none."""

    rate_setting = ""

    def get_rate(self) -> str | None:
        rate = getattr(settings, self.rate_setting, None)
        return None if not rate or rate.lower() == "off" else rate

    def parse_rate(self, rate):
        if rate is None:
            return (None, None)
        count, _, period = rate.partition("/")
        return int(count), PERIOD_SECONDS[period.strip().lower()]


class StoreKeyThrottle(ConfiguredRateThrottle):
    scope = "store_key"
    rate_setting = "API_THROTTLE_RATE"

    def get_cache_key(self, request, view) -> str | None:
        from .authentication import StoreClient

        if isinstance(request.user, StoreClient):
            return self.cache_format % {"scope": self.scope, "ident": request.user.key.pk}
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class FailedKeyThrottle(ConfiguredRateThrottle):
    """Counts wrong keys per client address. Authentication asks ``blocked`` before it looks a
    key up, and calls ``failed`` when the key is wrong; right keys are never counted."""

    scope = "failed_key"
    rate_setting = "API_FAILED_KEY_RATE"

    def get_cache_key(self, request, view=None) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def blocked(self, request) -> bool:
        if self.rate is None:
            return False
        self.key = self.get_cache_key(request)
        self.now = self.timer()
        since = self.now - self.duration
        self.history = [moment for moment in self.cache.get(self.key, []) if moment > since]
        return len(self.history) >= self.num_requests

    def failed(self, request) -> None:
        if self.rate is None:
            return
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.duration)
