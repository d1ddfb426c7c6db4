"""Views as a Django project writes them: session-backed JSON for the app, DRF tokens for the API."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


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
