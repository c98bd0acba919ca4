from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

from . import health, views

# One login for everyone: the admin's form sends to allauth's, with its rate limits and the
# two-factor step staff who can change things must pass (loyalty_site.staff.two_factor).
admin.site.login = secure_admin_login(admin.site.login)

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
