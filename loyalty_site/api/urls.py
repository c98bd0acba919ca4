"""``/api/v1/``: each app contributes the ``urlpatterns`` of its ``api`` module."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

v1 = [
    path("", include("members.api")),
    path("", include("campaigns.api")),
    path("", include("rewards.api")),
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="api-schema",
    ),
    path(
        "docs/",
        SpectacularSwaggerView.as_view(
            url_name="api-schema", authentication_classes=[], permission_classes=[]
        ),
        name="api-docs",
    ),
]

urlpatterns = [path("v1/", include(v1))]
