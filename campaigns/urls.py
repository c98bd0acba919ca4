"""Member portal pages of this app, mounted under /portal/."""

urlpatterns: list = []
