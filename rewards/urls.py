"""Member portal pages of this app, mounted under /portal/."""

from django.urls import path

from . import views

app_name = "rewards"
urlpatterns = [
    path("rewards/", views.catalog, name="catalog"),
    path("rewards/<slug:code>/", views.detail, name="detail"),
    path("vouchers/", views.vouchers, name="vouchers"),
    path("vouchers/<int:redemption_id>/cancel/", views.voucher_cancel, name="voucher_cancel"),
]
