"""OAuth2 / OpenID Connect authorization-code login: the app sends the browser to the identity
provider (another origin), the user signs in there, and the redirect chain brings the browser back."""

from __future__ import annotations

from playwright.sync_api import Page

from loginprobe.config.settings import Site
from loginprobe.evidence import origin_of
from loginprobe.flows.base import FlowFailed, register
from loginprobe.flows.form import QUICK_FORM_WAIT_MS, fill_login_form
from loginprobe.flows.steps import Deadline, StepLog, follow_until


@register("oidc")
def oidc_login(page: Page, site: Site) -> None:
    """Start at the app, sign in on the identity provider's form, go through its interaction steps
    (consent, "continue"), follow the redirects back."""
    app_origin = origin_of(site.target)
    deadline = Deadline()
    response = page.goto(site.url)
    filled = fill_login_form(page, site, timeout_ms=deadline.remaining_ms())
    if origin_of(page.url) == app_origin:
        return  # back home already (or signed in before: the app never sent us away)
    if not filled and response is not None and response.status >= 400 and response.url == page.url:
        # The provider's error page (an unknown client, a redirect_uri it does not know): no step
        # leads on from there, so waiting the run's timeout would only delay the same answer.
        raise FlowFailed(
            f"the identity provider answered {response.status} at {page.url} and showed no login form"
        )

    def back_home(url: str) -> bool:
        # Chromium replaces a page whose navigation failed (the app's 431 to an oversized cookie, its
        # connection reset) with its own error page: nothing on the provider can move on from there.
        return origin_of(url) == app_origin or url.startswith("chrome-error://")

    def sign_in(p: Page) -> bool:  # a login form that appears only after a step (an account chooser)
        return fill_login_form(p, site, timeout_ms=min(deadline.remaining_ms(), QUICK_FORM_WAIT_MS))

    log = StepLog(form_filled=filled)
    try:
        follow_until(
            page, site, back_home, deadline, detect=lambda p: not back_home(p.url), fill_form=sign_in, log=log
        )
    except FlowFailed as exc:
        shown = "" if log.form_filled else f" (it showed no login form at {origin_of(page.url)})"
        raise FlowFailed(
            f"the identity provider never redirected back to {app_origin}{shown}: {exc}"
        ) from None
    page.wait_for_load_state("load")
