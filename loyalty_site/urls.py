from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from . import health, views
from .security import rate_limited_login

admin.site.login = rate_limited_login(admin.site.login)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("loyalty_site.api.urls")),
    path("portal/", include("members.urls")),
    path("portal/", include("rewards.urls")),
    path("portal/", include("campaigns.urls")),
    path("staff/", include("loyalty_site.staff.urls")),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
