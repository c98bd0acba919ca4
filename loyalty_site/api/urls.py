"""``/api/v1/``: each app contributes the ``urlpatterns`` of its ``api`` module."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from .views import UnknownEndpoint

v1 = [
    path("", include("members.api")),
    path("", include("members.api_memberships")),
    path("", include("campaigns.api")),
    path("", include("campaigns.api_offers")),
    path("", include("rewards.api")),
    path("", include("members.api_webhooks")),
    path("", include("loyalty_site.staff.api")),
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="api-schema",
    ),
    path(
        "docs/",
        # The split view serves its start-up script from a URL: no inline script on the page.
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", authentication_classes=[], permission_classes=[]
        ),
        name="api-docs",
    ),
    # Anything else under /api/ still answers in the error envelope, after authentication.
    re_path(r"^.*$", UnknownEndpoint.as_view()),
]

urlpatterns = [path("v1/", include(v1)), re_path(r"^.*$", UnknownEndpoint.as_view())]
