"""A small Django project set up the way real ones are: sessions and auth apps, `LoginView`, DRF.

Secrets and the database come from the environment, so a test can restart the server with a rotated
`DJANGO_SECRET_KEY` (which signs out every session) or point it at its own SQLite file.
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "rest_framework.authtoken",
    "django_site",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "django_site.urls"
WSGI_APPLICATION = "django_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ]
        },
    }
]

DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["DJANGO_DB"]}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/app/"
# LoginView(redirect_authenticated_user=...): a signed-in user who opens the login page is sent on to
# `next` (with a view that sends users it refuses to the login page, that is a redirect loop).
LOGIN_REDIRECTS_SIGNED_IN = os.environ.get("DJANGO_LOGIN_REDIRECTS_SIGNED_IN") == "1"

# "private": the token document may be kept by the browser's HTTP cache (a common tuning of an
# endpoint that is called on every page); anything else: the token document is never stored.
TOKEN_CACHE = os.environ.get("DJANGO_TOKEN_CACHE", "no-store")

# DRF's own classes decide who gets in; a test picks them by name, comma-separated
# (DJANGO_API_AUTH="token,session", DJANGO_API_PERMISSION="IsAdminUser").
_DRF_AUTH = {
    "token": "rest_framework.authentication.TokenAuthentication",
    "session": "rest_framework.authentication.SessionAuthentication",
    "basic": "rest_framework.authentication.BasicAuthentication",
}
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        _DRF_AUTH[name.strip()] for name in os.environ.get("DJANGO_API_AUTH", "token").split(",")
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        f"rest_framework.permissions.{name.strip()}"
        for name in os.environ.get("DJANGO_API_PERMISSION", "IsAuthenticated").split(",")
    ],
}

# Django's session cookie settings, each as a user would set it in settings.py (unset: Django's default).
if "DJANGO_SESSION_COOKIE_DOMAIN" in os.environ:
    SESSION_COOKIE_DOMAIN = os.environ["DJANGO_SESSION_COOKIE_DOMAIN"]
SESSION_COOKIE_NAME = os.environ.get("DJANGO_SESSION_COOKIE_NAME", "sessionid")
SESSION_COOKIE_PATH = os.environ.get("DJANGO_SESSION_COOKIE_PATH", "/")
SESSION_COOKIE_SAMESITE = os.environ.get("DJANGO_SESSION_COOKIE_SAMESITE", "Lax")
SESSION_COOKIE_SECURE = os.environ.get("DJANGO_SESSION_COOKIE_SECURE") == "1"
SESSION_COOKIE_AGE = int(os.environ.get("DJANGO_SESSION_COOKIE_AGE", str(60 * 60 * 24 * 14)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = os.environ.get("DJANGO_SESSION_EXPIRE_AT_BROWSER_CLOSE") == "1"
if "DJANGO_CSRF_COOKIE_DOMAIN" in os.environ:
    CSRF_COOKIE_DOMAIN = os.environ["DJANGO_CSRF_COOKIE_DOMAIN"]
# "signed_cookies": the whole session travels in the cookie (Django's docs warn it must stay under 4096
# bytes; nothing stops it growing). RECENT_ITEMS: how many item ids a login keeps in the session.
SESSION_ENGINE = os.environ.get("DJANGO_SESSION_ENGINE", "django.contrib.sessions.backends.db")
RECENT_ITEMS = int(os.environ.get("DJANGO_RECENT_ITEMS", "0"))
# Behind a proxy that terminates TLS: SECURE_SSL_REDIRECT sends every plain-http request to https
# (gunicorn takes a request as https when the proxy on 127.0.0.1 says so in X-Forwarded-Proto).
SECURE_SSL_REDIRECT = os.environ.get("DJANGO_SECURE_SSL_REDIRECT") == "1"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the load balancer's health check stays on plain http
