"""HTTP Basic and Digest: the browser answers the server's challenge from the context's credentials."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from loginprobe.config.settings import Site
from loginprobe.flows.base import register


def http_credentials(site: Site) -> dict[str, Any]:
    creds = site.credentials
    if creds.username is None and creds.password is None:
        return {}
    password = creds.password.get_secret_value() if creds.password else ""
    return {"http_credentials": {"username": creds.username or "", "password": password}}


def _open(page: Page, site: Site) -> None:
    try:
        page.goto(site.url)
    except PlaywrightError:
        # Chromium raises net::ERR_INVALID_AUTH_CREDENTIALS (or ERR_HTTP_RESPONSE_CODE_FAILURE) for a
        # 401 it cannot answer; the response is already recorded, and the runner judges it.
        pass


@register("basic", context_options=http_credentials)
def basic_login(page: Page, site: Site) -> None:
    """Open the site; the browser answers its Basic challenge from http_credentials."""
    _open(page, site)


@register("digest", context_options=http_credentials)
def digest_login(page: Page, site: Site) -> None:
    """Open the site; the browser answers its Digest challenge from http_credentials."""
    _open(page, site)
