"""Content negotiation with the common case answered at once: a till sends no ``Accept`` header,
or ``*/*``, or asks for the JSON the API speaks, and DRF's full negotiation (parsing the header,
ranking media types against every renderer) only ever picks the view's first renderer then.
Anything else (another media type, ``?format=``) is negotiated by DRF as before, 406 included."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

ANYTHING = ("", "*/*")


class FirstRendererNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and not format_suffix and self.settings.URL_FORMAT_OVERRIDE not in request.query_params:
            accept = request.META.get("HTTP_ACCEPT", "").strip()
            first = renderers[0]
            if accept in ANYTHING or accept == first.media_type:
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
