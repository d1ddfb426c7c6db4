"""OAuth2 / OpenID Connect authorization-code login: the app sends the browser to the identity
provider (another origin), the user signs in there, and the redirect chain brings the browser back."""

from __future__ import annotations

import re

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from loginprobe.config.settings import Site
from loginprobe.evidence import origin_of
from loginprobe.flows.base import FlowFailed, register, run_timeout_ms
from loginprobe.flows.form import fill_login_form


@register("oidc")
def oidc_login(page: Page, site: Site) -> None:
    """Start at the app, sign in on the identity provider's form, follow the redirects back."""
    app_origin = origin_of(site.target)
    page.goto(site.url)
    filled = fill_login_form(page, site)
    if origin_of(page.url) == app_origin:
        return  # back home already (or signed in before: the app never sent us away)
    if not filled:
        raise FlowFailed(f"the identity provider at {origin_of(page.url)} showed no login form")
    try:
        page.wait_for_url(re.compile("^" + re.escape(app_origin)), timeout=run_timeout_ms())
    except PlaywrightTimeout:
        raise FlowFailed(
            f"the identity provider never redirected back to {app_origin} (stuck on {page.url})"
        ) from None
    page.wait_for_load_state("load")
