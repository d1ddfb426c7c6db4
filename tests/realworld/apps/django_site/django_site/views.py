"""Views as a Django project writes them: session-backed JSON for the app, DRF tokens for the API."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import user_passes_test
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


@receiver(user_logged_in)
def remember_recent_items(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Keep the ids of the items the user looked at last in the session, as shops and dashboards do."""
    if settings.RECENT_ITEMS:
        request.session["recent_items"] = [str(uuid.uuid4()) for _ in range(settings.RECENT_ITEMS)]


def _is_analyst(user: Any) -> bool:
    return bool(user.is_authenticated and user.groups.filter(name="analysts").exists())


@user_passes_test(_is_analyst)
def reports(request: HttpRequest) -> JsonResponse:
    """Analysts only; anyone else is sent to the login page (Django's `user_passes_test` default)."""
    return JsonResponse({"reports": ["q3", "q4"]})


def app_page(request: HttpRequest) -> HttpResponse:
    """The app shell; its script asks /api/me/ who is signed in."""
    return render(request, "app.html")


def token_app_page(request: HttpRequest) -> HttpResponse:
    """A page whose script fetches the API token for the session, then calls the API with it."""
    return render(request, "token_app.html")


def data_app_page(request: HttpRequest) -> HttpResponse:
    """A page whose script calls the DRF API with the session cookie alone (SessionAuthentication)."""
    return render(request, "data_app.html")


def me(request: HttpRequest) -> JsonResponse:
    """Who is signed in (by session cookie); 401 for a browser without a valid session."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    return JsonResponse({"username": request.user.get_username()})


def token_document(request: HttpRequest) -> JsonResponse:
    """The signed-in user's DRF token, for the page's script to send as `Authorization: Token`."""
    if not request.user.is_authenticated:
        response = JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    else:
        token, _ = Token.objects.get_or_create(user=request.user)
        response = JsonResponse({"token": token.key})
    if settings.TOKEN_CACHE == "private":
        response["Cache-Control"] = "private, max-age=3600"
    else:
        response["Cache-Control"] = "no-store"
    return response


class Data(APIView):
    """The API: DRF's TokenAuthentication, which answers 401 `Invalid token.` to a revoked token."""

    def get(self, request: Request) -> Response:
        return Response({"items": ["first", "second"], "user": request.user.get_username()})
