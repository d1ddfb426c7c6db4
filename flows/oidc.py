"""OAuth2 / OpenID Connect authorization-code login: the app sends the browser to the identity
provider (another origin), the user signs in there, and the redirect chain brings the browser back."""

from __future__ import annotations

import re

from loginprobe.config.settings import Site
from loginprobe.flows.base import FlowFailed, register
from loginprobe.flows.form import fill_login_form
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from loginprobe.evidence import origin_of


@register("oidc")
def oidc_login(page: Page, site: Site) -> None:
    """Start at the app, sign in on the identity provider's form, follow the redirects back."""
    app_origin = origin_of(site.target)
    page.goto(site.url)
    if origin_of(page.url) == app_origin and not fill_login_form(page, site, timeout_ms=5_000):
        return  # the app did not send us to an identity provider: already signed in
    if origin_of(page.url) == app_origin:
        return  # the login form was on the app itself
    # The identity provider's form filled and submitted; wait for the chain to come home.
    try:
        page.wait_for_url(re.compile("^" + re.escape(app_origin)), timeout=15_000)
    except PlaywrightTimeout:
        raise FlowFailed(
            f"the identity provider never redirected back to {app_origin} (stuck on {page.url})"
        ) from None
    page.wait_for_load_state("load")
