from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("history/", views.history, name="history"),
    path("profile/", views.profile, name="profile"),
    path("join/", views.join, name="join"),
    path("profile/export/", views.export, name="export"),
    path("profile/close/", views.close_account, name="close"),
]
