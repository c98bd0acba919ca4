"""Member portal pages of this app, mounted under /portal/."""

from django.urls import path

from . import views

app_name = "earn"
urlpatterns = [path("earn/", views.earn, name="index")]
