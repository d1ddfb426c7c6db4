"""Interaction steps of a login: the pages between the password and the way back (consent, "stay signed
in?", "continue" after a password, an account chooser).

Two sources, configured first:
- the site's `[[sites.steps]]`: "when the URL contains X / when selector Y is visible, click Z or fill W";
- detection of the common interstitial: one primary button ("Continue", "Allow", "Yes", "Accept",
  "Authorize", ...) on a page with no text or password field to fill.

Every wait is bounded by the run's timeout (`flows.base.run_timeout_ms`); flows decide no cause here,
they only do what a user would do, or say where they were stuck.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from loginprobe.config.settings import Site, Step
from loginprobe.evidence import origin_of
from loginprobe.flows.base import FlowFailed, run_timeout_ms

# Accessible names of the one button a user presses on an interstitial page. Only the start of the
# name counts ("Continue", "Allow access", "Yes, keep me signed in", "Accept and continue").
PRIMARY_NAME = re.compile(
    r"^\s*(continue|allow|yes|accept|authori[sz]e|approve|agree|confirm|grant|consent|proceed|ok)\b",
    re.IGNORECASE,
)
# A page with a field to type into is a form (login, one-time code), not an interstitial to click through.
TYPING_FIELDS = (
    "input[type='password'], input[type='text'], input[type='email'], input[type='tel'], "
    "input[type='number'], input:not([type]), textarea"
)
POLL_MS = 200  # how often a waiting flow looks at the page again (each look is bounded by the deadline)
MAX_ACTIONS = 12  # a provider that keeps showing new steps past this is stuck, not progressing


@dataclass(slots=True)
class Deadline:
    """The run's timeout as a point in time, so that several waits share one budget."""

    ms: float = field(default_factory=run_timeout_ms)
    start: float = field(default_factory=time.monotonic)

    def remaining_ms(self) -> float:
        return max(0.0, self.ms - (time.monotonic() - self.start) * 1000)

    def passed(self) -> bool:
        return self.remaining_ms() <= 0


@dataclass(slots=True)
class StepLog:
    """What the steps did on the way, for the flow's failure message (never a value that was typed)."""

    form_filled: bool = False
    done: list[str] = field(default_factory=list)
    acted: set[tuple[str, str]] = field(default_factory=set)  # (url, action): each done once per page

    def summary(self) -> str:
        return f" after {'; '.join(self.done)}" if self.done else ""


def _visible(locator: Locator) -> bool:
    try:
        return locator.count() > 0 and locator.first.is_visible()
    except PlaywrightError:  # the page navigated while we looked: nothing is visible on it any more
        return False


LOOK_MS = 1_000  # reading a button's words; it is on the page, unless the page just navigated away


def _label(button: Locator) -> str:
    """A button's words: its text, or the value of an <input type=submit>."""
    try:
        text = (button.text_content(timeout=LOOK_MS) or "").strip()
        text = text or (button.get_attribute("value", timeout=LOOK_MS) or "").strip()
    except PlaywrightError:  # gone with a navigation
        text = ""
    return " ".join(text.split())[:60] or "(unnamed button)"


def applies(page: Page, step: Step) -> bool:
    """The step's conditions hold on the page as it is now."""
    if step.url_contains is not None and step.url_contains not in page.url:
        return False
    return step.visible is None or _visible(page.locator(step.visible))


def perform(page: Page, step: Step, deadline: Deadline) -> str:
    """Do the step; returns what was done, in words."""
    timeout = max(deadline.remaining_ms(), 1)
    if step.click is not None:
        page.locator(step.click).first.click(timeout=timeout)
        return f"clicking {step.click!r} on {page.url}"
    assert step.fill is not None  # the model guarantees one action
    value = step.secret.get_secret_value() if step.secret is not None else (step.value or "")
    page.locator(step.fill).first.fill(value, timeout=timeout)
    return f"filling {step.fill!r} on {page.url}"


def primary_button(page: Page) -> tuple[Locator | None, list[str]]:
    """The single primary button of an interstitial page, if the page is one; else None and the names of
    the candidate buttons seen (to say why nothing was pressed)."""
    if _visible(page.locator(TYPING_FIELDS).locator("visible=true")):
        return None, []
    buttons = page.get_by_role("button", name=PRIMARY_NAME).filter(visible=True)
    try:
        count = buttons.count()
        names = [_label(buttons.nth(i)) for i in range(min(count, 5))]
        if count == 1:
            return buttons.first, names
        if count > 1:
            # A form's own button beats, say, a cookie banner's "Accept" outside any form.
            in_form = page.locator("form").get_by_role("button", name=PRIMARY_NAME).filter(visible=True)
            if in_form.count() == 1:
                return in_form.first, names
    except PlaywrightError:  # navigated away while we looked
        return None, []
    return None, names


def login_form_shown(page: Page) -> bool:
    """A password field is visible: the page asks to sign in (again)."""
    return _visible(page.locator("input[type='password']").locator("visible=true"))


SUBMITTED_MARK = "__loginprobeSubmitted"


def mark_submitted(page: Page) -> None:
    """Mark the login form's document just before its submit, so that a login form seen later can be
    told apart: the same document (not yet navigated, or a script re-rendering it) or a new page."""
    try:
        page.evaluate(f"() => {{ window.{SUBMITTED_MARK} = true; }}")
    except PlaywrightError:  # navigating already: any later document is a new one anyway
        pass


def login_form_again(page: Page) -> bool:
    """A new document (not the one whose form was submitted) shows a login form."""
    if not login_form_shown(page):
        return False
    try:
        return not page.evaluate(f"() => window.{SUBMITTED_MARK} === true")
    except PlaywrightError:  # navigating: look again on the next round
        return False


def _wait_for_load(page: Page, deadline: Deadline) -> None:
    try:
        page.wait_for_load_state("load", timeout=max(deadline.remaining_ms(), 1))
    except PlaywrightTimeout:
        pass  # the caller's deadline check reports where it was stuck
    except PlaywrightError:  # the page navigated during the wait: the next look sees the new one
        pass


def take_step(
    page: Page, site: Site, log: StepLog, deadline: Deadline, detect: Callable[[Page], bool]
) -> bool:
    """Do the first configured step that applies, else press the interstitial's primary button when
    `detect(page)` allows detection here; True when something was done."""
    url = page.url
    for index, step in enumerate(site.steps):
        key = (url, f"step {index}")
        if key not in log.acted and applies(page, step):
            log.acted.add(key)
            log.done.append(perform(page, step, deadline))
            return True
    if not detect(page):
        return False
    button, _ = primary_button(page)
    if button is None:
        return False
    name = _label(button)
    key = (url, f"button {name}")
    if key in log.acted:
        return False  # pressed once on this page already; pressing again would loop
    log.acted.add(key)
    try:
        button.click(timeout=max(deadline.remaining_ms(), 1))
    except PlaywrightError:  # the page moved on by itself (a redirect) before the click: look again
        return True
    log.done.append(f"pressing {name!r} on {url}")
    return True


def follow_until(
    page: Page,
    site: Site,
    arrived: Callable[[str], bool],
    deadline: Deadline,
    *,
    detect: Callable[[Page], bool],
    fill_form: Callable[[Page], bool] | None = None,
    log: StepLog | None = None,
) -> StepLog:
    """Until `arrived(page.url)`: do the interaction steps that apply, sign in once when a login form
    appears after a step (`fill_form`), and let redirects run; raises FlowFailed when the deadline
    passes (saying where it was stuck and what it did)."""
    log = log or StepLog()
    while not arrived(page.url):
        if deadline.passed() or len(log.done) >= MAX_ACTIONS:
            raise FlowFailed(f"stuck on {page.url}{log.summary()}{_hint(page, site, log)}")
        _wait_for_load(page, deadline)
        if arrived(page.url):
            break
        if take_step(page, site, log, deadline, detect):
            _wait_for_load(page, deadline)
            continue
        if fill_form is not None and not log.form_filled and login_form_shown(page):
            url = page.url
            if fill_form(page):
                log.form_filled = True
                log.done.append(f"signing in on {url}")
                continue
        if log.form_filled and login_form_again(page):
            # The password was submitted and a new page asks for it again: waiting cannot help.
            raise FlowFailed(f"the login form came back after the password was submitted (on {page.url})")
        try:
            page.wait_for_url(arrived, timeout=min(POLL_MS, max(deadline.remaining_ms(), 1)))
        except PlaywrightTimeout:
            pass  # not yet: look at the page again
    return log


# Paths of the pages a login passes through (as opposed to the app's own pages).
LOGIN_PATH = re.compile(
    r"log-?in|sign-?in|auth|sso|session|consent|interaction|kmsi|remember|verify|continue", re.IGNORECASE
)


def after_login(page: Page, site: Site, log: StepLog | None = None) -> StepLog:
    """Right after a form login: do the configured steps, and press the primary button of an
    interstitial on a login page ("stay signed in?"), on the loaded page; never waits for a step."""
    log = log or StepLog()
    deadline = Deadline()
    login_origin = origin_of(site.url)
    app_pages = {u for u in (site.target, site.app_url, site.start_url) if u}

    def detect(p: Page) -> bool:
        # Login pages of the login site only: an app page's "Continue shopping" or "Confirm order" is
        # not part of the login.
        url = p.url.split("#")[0]
        path = urlsplit(url).path
        return origin_of(url) == login_origin and url not in app_pages and bool(LOGIN_PATH.search(path))

    for _ in range(MAX_ACTIONS):
        if deadline.passed():
            break
        _wait_for_load(page, deadline)
        if not take_step(page, site, log, deadline, detect):
            break
    return log


def _hint(page: Page, site: Site, log: StepLog) -> str:
    """Why nothing was done on the page where the flow is stuck, as advice."""
    if login_form_shown(page) and log.form_filled:
        return "; it shows the login form again (were the credentials refused?)"
    _, names = primary_button(page)
    if len(names) > 1:
        shown = ", ".join(repr(n) for n in names)
        return f"; several buttons could be the next step ({shown}): name one in [[sites.steps]]"
    if not site.steps:
        return "; if this page waits for the user, describe its step in [[sites.steps]]"
    return ""
