"""One WebKitGTK run over WebDriver: the in-page observer and state JavaScript, the shell's resource log,
and the flows driven through a WebDriver session (form, OIDC, HTTP auth, bearer, API key, returning visits).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from loginprobe.config.settings import Site
from loginprobe.evidence import (
    origin_of,
    same_resource,
)
from loginprobe.flows.form import PASSWORD_CANDIDATES, QUICK_FORM_WAIT_MS, USERNAME_CANDIDATES
from loginprobe.flows.probe import APP_PAGE_FLOWS, NOTHING_HELD, SETTLE_MAX_S, SETTLE_QUIET_S
from loginprobe.flows.steps import PRIMARY_NAME, TYPING_FIELDS
from loginprobe.flows.visit import CHALLENGE_FLOWS, CREDENTIAL_FLOWS
from loginprobe.flows.webdriver import ELEMENT_KEY, Session, WebDriverError
from loginprobe.flows.webkit_scripts import FETCH_JS, FORM_SHOWN_JS, INTERSTITIAL_JS

POLL_S = 0.1


# The form flow's selectors (one rule); the submit list keeps only plain CSS, since `:has-text()` is
# Playwright's own and a page's querySelector refuses it.
USERNAME_CSS = USERNAME_CANDIDATES
PASSWORD_CSS = PASSWORD_CANDIDATES
SUBMIT_CSS = ("button[type='submit']", "input[type='submit']", "form button:not([type])")


# -- one run ------------------------------------------------------------------------------------


class FlowFailedHere(Exception):
    """The login could not be performed over WebDriver (a failed outcome, not a crash)."""


@dataclass(slots=True)
class ResourceLog:
    """The shell's network log, read as it grows."""

    path: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    _offset: int = 0

    def refresh(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                handle.seek(self._offset)
                chunk = handle.read()
        except OSError:
            return self.events
        complete, _, _partial = chunk.rpartition("\n")
        if complete:
            self._offset += len(complete.encode()) + 1
            for line in complete.splitlines():
                try:
                    self.events.append(json.loads(line))
                except ValueError:
                    continue  # a line cut by a crash: the rest of the log still counts
        return self.events

    def urls_requested(self) -> list[str]:
        """Every URL the page asked for, redirect targets included."""
        events = self.refresh()
        return [e["url"] for e in events if e["event"] == "request"] + [
            e["to"] for e in events if e["event"] == "redirect"
        ]

    def in_flight(self) -> bool:
        events = self.refresh()
        started = {e["id"] for e in events if e["event"] == "request"}
        ended = {e["id"] for e in events if e["event"] in ("finished", "failed")}
        return bool(started - ended)


@dataclass(slots=True)
class WebKitRun:
    """Drive one WebDriver session through a site's login and build its evidence."""

    session: Session
    site: Site
    log: ResourceLog
    timeout_s: float
    returning: bool = False
    jar_empty: bool = False  # the profile held no cookie as the browser started
    login_ran: bool = True
    login_trigger: str | None = None

    # -- waiting ----------------------------------------------------------------------------
    def settle(self) -> bool:
        """Wait until the protected URL was requested (True) or nothing was in flight a while (False)."""
        deadline = time.monotonic() + SETTLE_MAX_S
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self.requested():
                return True
            if self.log.in_flight():
                quiet_since = None
            else:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= SETTLE_QUIET_S:
                    return False
            time.sleep(POLL_S)
        return self.requested()

    def requested(self) -> bool:
        return any(same_resource(url, self.site.target) for url in self.log.urls_requested())

    def await_answer(self, seconds: float) -> None:
        """Wait until every request for the protected URL has finished or failed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            events = self.log.refresh()
            wanted = {
                e["id"]
                for e in events
                if e["event"] in ("request", "redirect")
                and same_resource(e.get("to") or e["url"], self.site.target)
            }
            ended = {e["id"] for e in events if e["event"] in ("finished", "failed")}
            if not wanted - ended:
                return
            time.sleep(POLL_S)

    def open(self, url: str) -> None:
        """Navigate; a page that fails to load is evidence (the log has it), not an error."""
        try:
            self.session.navigate(url)
        except WebDriverError as exc:
            if exc.error in ("no answer", "invalid session id"):
                raise
            # timeout, unknown error (a refused connection): the resource log records what happened

    # -- flows ------------------------------------------------------------------------------
    def perform(self) -> str | None:
        """Run the site's flow; a failed login is returned as a reason, never raised."""
        try:
            getattr(self, "_flow_" + self.site.flow.replace("-", "_"))()
        except FlowFailedHere as exc:
            return str(exc)
        except WebDriverError as exc:
            if exc.error in ("no answer", "invalid session id"):
                raise
            if exc.error == "timeout":
                return f"timed out after {self.timeout_s:g} s: {exc.message}"
            return f"the flow stopped: {exc}"
        return None

    def _flow_form(self) -> None:
        self.open(self.site.url)
        self.fill_login_form()

    def _flow_oidc(self) -> None:
        app_origin = origin_of(self.site.target)
        deadline = time.monotonic() + self.timeout_s  # one budget for the whole trip, as in flows/oidc.py
        self.open(self.site.url)
        filled = self.fill_login_form(max(deadline - time.monotonic(), 0.0))
        if origin_of(self.session.current_url) == app_origin:
            return
        if not filled:
            raise FlowFailedHere(
                f"the identity provider at {origin_of(self.session.current_url)} showed no login form"
            )
        pressed: list[str] = []
        while origin_of(url := self.session.current_url) != app_origin:
            if time.monotonic() > deadline:
                done = f" after pressing {', '.join(pressed)}" if pressed else ""
                raise FlowFailedHere(
                    f"the identity provider never redirected back to {app_origin} (stuck on {url}{done})"
                )
            if url not in pressed and self.press_interstitial():
                pressed.append(url)  # once per page: a page that comes back is not pressed round and round
            time.sleep(POLL_S)
        self.settle()

    def press_interstitial(self) -> bool:
        """Press the one primary button of a page between the password and the way back (consent,
        "continue"), as flows/steps.py does for Playwright; False when the page is no such page."""
        try:
            found = self.session.execute(INTERSTITIAL_JS, PRIMARY_NAME.pattern, TYPING_FIELDS)
            if not isinstance(found, dict) or ELEMENT_KEY not in found:
                return False
            self.session.click(str(found[ELEMENT_KEY]))
        except WebDriverError:
            return False  # the page navigated while we looked: the next look sees the new one
        self.settle()
        return True

    def _flow_basic(self) -> None:
        self.open(self.site.url)  # the shell answers the challenge from the configured credentials

    _flow_digest = _flow_basic

    def _flow_visit(self) -> None:
        self.open(self.site.url)

    def _flow_bearer(self) -> None:
        creds, token = self.site.credentials, self.site.token
        secret = creds.token.get_secret_value() if creds.token else None
        default = "Authorization" if token.location == "header" else "access_token"
        self._call_protected(secret, default, token.scheme if token.location == "header" else None)

    def _flow_api_key(self) -> None:
        creds, token = self.site.credentials, self.site.token
        secret = creds.api_key.get_secret_value() if creds.api_key else None
        self._call_protected(secret, "X-API-Key" if token.location == "header" else "api_key", None)

    def _flow_script(self) -> None:
        raise FlowFailedHere("unreachable: script flows are refused before the session starts")

    def _call_protected(self, secret: str | None, default_name: str, scheme: str | None) -> None:
        """From a page of the app, fetch() the protected URL with the credential (as the app would)."""
        site = self.site
        start = site.url if site.url != site.target else origin_of(site.target) + "/"
        self.open(start)
        url, headers = site.target, {}
        name = site.token.name or default_name
        if secret is not None:
            if site.token.location == "query":
                parts = urlsplit(url)
                extra = urlencode({name: secret})
                url = urlunsplit(parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra))
            else:
                headers[name] = f"{scheme} {secret}" if scheme else secret
        result = self.session.execute_async(FETCH_JS, url, headers)
        if not isinstance(result, dict) or result.get("status") is None:
            error = result.get("error") if isinstance(result, dict) else result
            raise FlowFailedHere(f"fetch({site.target}) failed in the page: {error}")

    def _visible(self, candidates: tuple[str, ...], configured: str | None) -> str | None:
        for css in (configured,) if configured else candidates:
            for element in self.session.find(css):
                try:
                    if self.session.displayed(element):
                        return element
                except WebDriverError:
                    continue  # the element went away while we looked
        return None

    def _wait_visible(
        self, candidates: tuple[str, ...], configured: str | None, seconds: float
    ) -> str | None:
        deadline = time.monotonic() + seconds
        while True:
            found = self._visible(candidates, configured)
            if found is not None or time.monotonic() > deadline:
                return found
            time.sleep(POLL_S)

    def fill_login_form(self, seconds: float | None = None) -> bool:
        """Fill and submit the login form the page shows (username-first forms too); False if none.

        Waits as flows/form.py does: a short look first; the rest of `seconds` (the run's timeout) only
        while the browser is still on the login page.
        """
        site, creds = self.site, self.site.credentials
        budget = self.timeout_s if seconds is None else seconds
        quick = min(budget, QUICK_FORM_WAIT_MS / 1000)
        password = self._wait_visible(PASSWORD_CSS, site.form.password_selector, quick)
        username = self._visible(USERNAME_CSS, site.form.username_selector)
        if password is None and username is None:
            if not same_resource(self.session.current_url, site.url):
                return False  # sent away from the login page without a form ("already signed in")
            password = self._wait_visible(PASSWORD_CSS, site.form.password_selector, max(budget - quick, 0.0))
            username = self._visible(USERNAME_CSS, site.form.username_selector)
            if password is None and username is None:
                return False
        if password is None and username is not None:
            # Username first: type it, press the step's button, then wait for the password field.
            self.session.clear(username)
            self.session.send_keys(username, creds.username or "")
            step = self._visible(SUBMIT_CSS, site.form.next_selector or site.form.submit_selector)
            if step is None:
                self.session.send_keys(username, "\ue007")  # WebDriver's Enter key
            else:
                self.session.click(step)
            password = self._wait_visible(PASSWORD_CSS, site.form.password_selector, self.timeout_s)
            if password is None:
                raise FlowFailedHere(
                    f"the password step never appeared after the username on {self.session.current_url}"
                )
            username = None
        assert password is not None
        if username is not None and creds.username is not None:
            self.session.clear(username)
            self.session.send_keys(username, creds.username)
        self.session.clear(password)
        self.session.send_keys(password, creds.password.get_secret_value() if creds.password else "")
        submit = self._visible(SUBMIT_CSS, site.form.submit_selector)
        if submit is None:
            self.session.send_keys(password, "\ue007")
        else:
            self.session.click(submit)
        self.settle()
        return True

    # -- a returning visit ------------------------------------------------------------------
    def returning_url(self) -> str:
        site = self.site
        return getattr(site, "start_url", None) or getattr(site, "app_url", None) or site.target

    def login_requested(self) -> str | None:
        """Why the site asks this returning browser to sign in, or None (flows/visit.py's questions)."""
        site = self.site
        if site.flow == "visit":
            return None
        if site.flow in CHALLENGE_FLOWS:
            return "HTTP authentication: the browser answers the site's challenges from its credentials"
        if site.flow in CREDENTIAL_FLOWS:
            if self.requested():
                return None
            return (
                "the page did not call the protected URL itself; it was called with the configured credential"
            )
        url = self.session.current_url
        if site.flow == "oidc" and origin_of(url) not in (
            origin_of(site.target),
            origin_of(self.returning_url()),
        ):
            return f"the visit was sent to the identity provider at {origin_of(url)}"
        if site.url != self.returning_url() and same_resource(url, site.url):
            return f"the visit landed on the login page {site.url}"
        selectors = [s for s in (site.form.password_selector, site.form.username_selector) if s]
        try:
            if self.session.execute(FORM_SHOWN_JS, ", ".join(selectors or PASSWORD_CSS)):
                return f"{url} shows a login form"
        except WebDriverError:
            pass  # the page navigated while we looked: no form to speak of
        if site.flow in APP_PAGE_FLOWS and self.jar_empty and not self.stored_anything():
            return NOTHING_HELD  # as flows/probe.py: a browser holding nothing was never signed in
        return None

    def stored_anything(self) -> bool:
        """Did any page of this visit start with localStorage items (the observer's first report)?"""
        return any(
            e["event"] == "page" and e["message"].get("kind") == "storage" and e["message"].get("items")
            for e in self.log.refresh()
            if isinstance(e.get("message"), dict)
        )

    def run(self) -> str | None:
        """Log in (a returning visit: only if the site asks); make sure the protected URL is asked for."""
        site = self.site
        flow_error: str | None = None
        if self.returning:
            self.open(self.returning_url())
            if not self.settle() and site.flow not in CREDENTIAL_FLOWS:
                self.open(site.target)
                self.settle()
            self.login_trigger = self.login_requested()
            self.login_ran = self.login_trigger is not None
            if self.login_ran and site.flow not in CHALLENGE_FLOWS:
                flow_error = self.perform()
        else:
            flow_error = self.perform()
        app_url = getattr(site, "app_url", None)
        opens_app = flow_error is None and app_url and site.flow in ("form", "oidc") and self.login_ran
        if opens_app and app_url and not same_resource(self.session.current_url, app_url):
            self.open(app_url)
        timed_out = flow_error is not None and flow_error.startswith("timed out")
        if not self.settle():
            self.open(site.target)
        self.await_answer(0.0 if timed_out else self.timeout_s)
        return flow_error
