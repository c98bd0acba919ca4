"""Member portal pages of this app, mounted under /portal/."""

from django.urls import path

from . import views, views_offers

app_name = "earn"
urlpatterns = [
    path("earn/", views.earn, name="index"),
    path("offers/", views_offers.offers, name="offers"),
    path("offers/<str:code>/activate/", views_offers.offer_activate_view, name="offer-activate"),
    path("offers/unsubscribe/<str:token>/", views_offers.unsubscribe, name="offers-unsubscribe"),
]
