from django.urls import path

from . import views

app_name = "staff"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("tiers/", views.tier_what_if_view, name="tiers"),
    path("statements/", views.statements_view, name="statements"),
]
