"""Visits without a login: the `visit` flow (the page's own scripts make the protected request), and
the question a returning visit asks of the page it landed on: does this site ask me to sign in?

A returning user opens the site with yesterday's cookies, cache and storage and signs in only when the
site asks. Real login pages (Django's `LoginView`, most frameworks) show the form to a user who is
already signed in, so a returning run that always logged in would heal the very state it exists to
find: a stale session cookie, an expired stored token, a token document kept by a cache.
"""

from __future__ import annotations

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from loginprobe.config.settings import Site
from loginprobe.evidence import origin_of, same_resource
from loginprobe.flows.base import register
from loginprobe.flows.form import PASSWORD_CANDIDATES

# Flows whose login is the browser answering an HTTP challenge from the context's credentials: the
# visit itself is the login (a returning browser keeps no HTTP credentials across restarts, so it is
# challenged again and answers).
CHALLENGE_FLOWS = ("basic", "digest")
# Flows whose "login" is the app attaching the configured credential to its own request.
CREDENTIAL_FLOWS = ("bearer", "api-key")


def open_quietly(page: Page, url: str) -> None:
    """Navigate; a navigation error is evidence (Chromium raises on some 401s), a crash is raised."""
    from loginprobe.flows.probe import is_crash

    try:
        page.goto(url)
    except PlaywrightError as exc:
        if is_crash(exc):
            raise


@register("visit")
def visit_app(page: Page, site: Site) -> None:
    """Open the app page without credentials; its own scripts make the protected request."""
    open_quietly(page, site.url)


def login_requested(page: Page, site: Site, opened: str, protected_requested_by_page: bool) -> str | None:
    """Why the site asks this returning browser to sign in (one sentence), or None when it does not.

    The site asks when it shows a login form, when the visit landed on the login page or on the
    identity provider, or (flows that send a credential themselves) when the page never made the
    protected request that the app would send the credential with.
    """
    if site.flow == "visit":
        return None
    if site.flow in CHALLENGE_FLOWS:
        return "HTTP authentication: the browser answers the site's challenges from its credentials"
    if site.flow in CREDENTIAL_FLOWS:
        if protected_requested_by_page:
            return None
        return "the page did not call the protected URL itself; it was called with the configured credential"
    url = page.url
    if site.flow == "oidc" and origin_of(url) not in (origin_of(site.target), origin_of(opened)):
        return f"the visit was sent to the identity provider at {origin_of(url)}"
    if site.url != opened and same_resource(url, site.url):
        return f"the visit landed on the login page {site.url}"
    if _shows_login_form(page, site):
        return f"{url} shows a login form"
    return None


def _shows_login_form(page: Page, site: Site) -> bool:
    selectors = [s for s in (site.form.password_selector, site.form.username_selector) if s]
    selector = ", ".join(selectors or PASSWORD_CANDIDATES)
    try:
        return page.locator(selector).locator("visible=true").count() > 0
    except PlaywrightError:
        return False  # the page navigated or closed while we looked: no form to speak of
