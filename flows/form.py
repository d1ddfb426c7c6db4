"""HTML form login: find the username, password and submit controls (or use the configured selectors),
including username-first forms that ask for the password on a second step."""

from __future__ import annotations

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from loginprobe.config.settings import Site
from loginprobe.evidence import same_resource
from loginprobe.flows.base import FlowFailed, register, run_timeout_ms
from loginprobe.flows.steps import after_login, mark_submitted

QUICK_FORM_WAIT_MS = 1_500

USERNAME_CANDIDATES = (
    "input[autocomplete='username']",
    "input[type='email']",
    "input[name*='user' i]",
    "input[id*='user' i]",
    "input[name*='login' i]",
    "input[name*='email' i]",
    "input[type='text']",
)
PASSWORD_CANDIDATES = ("input[autocomplete='current-password']", "input[type='password']")
SUBMIT_CANDIDATES = (
    "button[type='submit']",
    "input[type='submit']",
    "form button:not([type])",
    "button:has-text('Sign in')",
    "button:has-text('Log in')",
    "button:has-text('Login')",
    "button:has-text('Next')",
    "button:has-text('Continue')",
)


def _first_visible(page: Page, candidates: tuple[str, ...]) -> Locator | None:
    for selector in candidates:
        found = page.locator(selector).locator("visible=true")
        if found.count() > 0:
            return found.first
    return None


def _control(page: Page, configured: str | None, candidates: tuple[str, ...]) -> Locator | None:
    if configured:
        return page.locator(configured).first
    return _first_visible(page, candidates)


def _wait_for_form(page: Page, site: Site, timeout_ms: float, expect_form: bool) -> bool:
    """Wait until a username or password field is visible; False when the page shows no form.

    A page that redirected away from the login URL without a form (a returning user's "already
    signed in" shortcut) is given a short grace period instead of the whole timeout.
    """
    selectors = [s for s in (site.form.username_selector, site.form.password_selector) if s]
    selectors = selectors or [*PASSWORD_CANDIDATES, *USERNAME_CANDIDATES[:3]]
    field = page.locator(", ".join(selectors)).locator("visible=true").first
    quick = min(timeout_ms, QUICK_FORM_WAIT_MS)
    try:
        field.wait_for(timeout=quick)
        return True
    except PlaywrightTimeout:
        if not expect_form and not same_resource(page.url, site.url):
            return False
    try:
        field.wait_for(timeout=max(timeout_ms - quick, 1))
    except PlaywrightTimeout:
        return False
    return True


def fill_login_form(
    page: Page, site: Site, timeout_ms: float | None = None, expect_form: bool = False
) -> bool:
    """Fill and submit whatever login form the page shows; False when there is none (already signed in)."""
    creds = site.credentials
    timeout_ms = run_timeout_ms() if timeout_ms is None else timeout_ms
    if not _wait_for_form(page, site, timeout_ms, expect_form):
        return False
    password_field = _control(page, site.form.password_selector, PASSWORD_CANDIDATES)
    username_field = _control(page, site.form.username_selector, USERNAME_CANDIDATES)
    if password_field is None:
        # Username first: type it, press the step's button, then wait for the password field.
        if username_field is None:
            raise FlowFailed(f"no username or password field on {page.url}")
        username_field.fill(creds.username or "")
        step = _control(page, site.form.next_selector or site.form.submit_selector, SUBMIT_CANDIDATES)
        if step is None:
            username_field.press("Enter")
        else:
            step.click()
        selector = site.form.password_selector or ", ".join(PASSWORD_CANDIDATES)
        try:
            page.locator(selector).locator("visible=true").first.wait_for(timeout=timeout_ms)
        except PlaywrightTimeout:
            raise FlowFailed(f"the password step never appeared after the username on {page.url}") from None
        password_field = page.locator(selector).locator("visible=true").first
        username_field = None
    if username_field is not None and creds.username is not None:
        username_field.fill(creds.username)
    password = creds.password.get_secret_value() if creds.password else ""
    password_field.fill(password)
    submit = _control(page, site.form.submit_selector, SUBMIT_CANDIDATES)
    mark_submitted(page)  # tells a new page with a login form from this one (flows/steps.py)
    if submit is None:
        password_field.press("Enter")
    else:
        submit.click()
    page.wait_for_load_state("load")
    return True


@register("form")
def form_login(page: Page, site: Site) -> None:
    """Open the login page, fill the HTML form and submit; the session stays in the context."""
    page.goto(site.url)
    if fill_login_form(page, site):
        after_login(page, site)  # a "stay signed in?" or configured step after the password
