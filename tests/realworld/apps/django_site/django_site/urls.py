"""Routes: Django's own login view, two app pages and the APIs their scripts call."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path

from django_site import views

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=settings.LOGIN_REDIRECTS_SIGNED_IN),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("app/", views.app_page, name="app"),
    path("token-app/", views.token_app_page, name="token-app"),
    path("data-app/", views.data_app_page, name="data-app"),
    path("api/me/", views.me, name="me"),
    path("reports/", views.reports, name="reports"),
    path("api/token/", views.token_document, name="token"),
    path("api/data/", views.Data.as_view(), name="data"),
]
