from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("history/", views.history, name="history"),
    path("card/", views.card, name="card"),
    path("profile/", views.profile, name="profile"),
    path("join/", views.join, name="join"),
]
