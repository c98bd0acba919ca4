from django.urls import path

from . import views, views_plans, views_transfers

app_name = "portal"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("history/", views.history, name="history"),
    path("card/", views.card, name="card"),
    path("profile/", views.profile, name="profile"),
    path("join/", views.join, name="join"),
    path("plan/<int:membership_id>/stop-renewal/", views_plans.plan_renewal_stop, name="plan-renewal-stop"),
    path("transfer/", views_transfers.transfer, name="transfer"),
    path("transfer/confirm/", views_transfers.transfer_confirm, name="transfer-confirm"),
    path("profile/export/", views.export, name="export"),
    path("profile/close/", views.close_account, name="close"),
]
