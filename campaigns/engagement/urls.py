"""Member portal pages of engagement, mounted under /portal/."""

from django.urls import path

from . import views

app_name = "engagement"
urlpatterns = [
    path("challenges/", views.challenges, name="challenges"),
    path("events/", views.events, name="events"),
    path("events/<slug:code>/rsvp/", views.rsvp, name="rsvp"),
    path("events/<slug:code>/check-in/<str:secret>/", views.check_in, name="check_in"),
    path("leaderboard/", views.leaderboard_page, name="leaderboard"),
]
