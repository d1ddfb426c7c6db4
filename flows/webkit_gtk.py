"""WebKit without Playwright's build: Debian's WebKitGTK driven over WebDriver classic.

Used when Playwright's own WebKit is not installed (a closed network cannot download it); Playwright's
stays preferred. How it runs: an Xvfb display (unless a visible browser is asked for on a desktop),
`WebKitWebDriver` on a loopback port, and per run one session whose browser is loginprobe's WebKitGTK
shell (flows/webkit_shell.py) on a data folder. A persisted run's folder is a copy of the kept profile,
so cookies, HTTP cache, storage and service workers survive between runs as in a returning browser.

What WebKit over WebDriver can show, and where each kind of evidence comes from, is recorded in
`RunEvidence.evidence_sources`; what it cannot show is listed in `RunEvidence.not_observable`, so a
check can say "not observable" instead of guessing. Measured with WebKitGTK 2.50.6 (Debian 12):
- requests: WebKitGTK's WebKitWebResource signals (documents, fetch, XHR, redirects, statuses,
  response headers) logged by the shell; request headers are those of the web process: the Cookie
  header is added later by the network process, and Set-Cookie never reaches the UI process;
- an in-page observer (injected at document start, before the site's scripts) reports fetch/XHR
  statuses and the headers the page set, and each origin's localStorage as its first page starts;
- Resource Timing has no `responseStatus` in 2.50: navigation statuses come from the resource log;
- cookies: the data folder's cookie database (persistent cookies, every domain) and WebDriver's Get
  All Cookies for the last page (session cookies of that origin);
- cache: no engine flag; a response whose Date precedes its request by more than a few seconds was
  served from the HTTP cache (a heuristic, named as such).
Script flows (a Playwright `login(page, site)`) cannot run over WebDriver: those runs are skipped with
that reason.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from loginprobe.config.settings import Settings, Site
from loginprobe.evidence import (
    CacheStorageEntry,
    CookieRecord,
    Exchange,
    Expectations,
    Header,
    JwtRecord,
    Outcome,
    RunEvidence,
    ServiceWorkerRecord,
    StateSnapshot,
    StorageArea,
    origin_of,
)
from loginprobe.flows import profiles
from loginprobe.flows.engines import LaunchRecipe
from loginprobe.flows.form import PASSWORD_CANDIDATES, USERNAME_CANDIDATES
from loginprobe.flows.webdriver import Driver, Session, WebDriverError, free_port
from loginprobe.parsing import (
    decode_jwt,
    describe_authorization,
    find_jwts,
    parse_challenge_headers,
    parse_cookie_header,
    parse_http_date,
)
from loginprobe.secrets import CREDENTIAL_HEADERS, Redactor

if TYPE_CHECKING:
    from loginprobe.flows.lanes import RunSpec
    from loginprobe.flows.runner import Runner, RunResult

HOW = "WebKitGTK over WebDriver classic (system WebKitWebDriver, loginprobe's WebKitGTK shell)"
SHELL = Path(__file__).with_name("webkit_shell.py")
SYSTEM_PYTHON = ("/usr/bin/python3",)
INSTALL_HINT = (
    "playwright install webkit  (or on Debian: apt-get install -y webkit2gtk-driver "
    "gir1.2-webkit2-4.1 python3-gi xvfb)"
)
# Flows whose login is the browser answering an HTTP challenge / the page sending a credential.
CHALLENGE_FLOWS = ("basic", "digest")
CREDENTIAL_FLOWS = ("bearer", "api-key")
# A response whose Date is this much older than its request came from a cache (heuristic).
STALE_DATE_S = 3.0
SETTLE_MAX_S = 5.0
SETTLE_QUIET_S = 0.6
POLL_S = 0.1
START_TIMEOUT_S = 20.0
# WebKit's disk cache (and localStorage) write their records about 0.8 s after a load (measured on
# 2.50.6); a browser closed sooner forgets them, so a profile that is kept waits this long after the
# last response, and until the cache folder stops changing, at most CACHE_FLUSH_MAX_S.
CACHE_WRITE_DELAY_S = 1.5
CACHE_FLUSH_MAX_S = 4.0

# The form flow's selectors (one rule); the submit list keeps only plain CSS, since `:has-text()` is
# Playwright's own and a page's querySelector refuses it.
USERNAME_CSS = USERNAME_CANDIDATES
PASSWORD_CSS = PASSWORD_CANDIDATES
SUBMIT_CSS = ("button[type='submit']", "input[type='submit']", "form button:not([type])")

# What a run of this engine records, and from where (RunEvidence.evidence_sources).
EVIDENCE_SOURCES: dict[str, str] = {
    "exchanges": "WebKitGTK WebKitWebResource signals in loginprobe's shell (documents, fetch, XHR)",
    "navigation_status": "the main resource's response in the resource log (Resource Timing in WebKitGTK "
    "2.50 has no responseStatus)",
    "request_headers": "the web process's request (no Cookie: the network process adds it later)",
    "response_headers": "the resource log (Set-Cookie removed by WebKit before the UI process)",
    "page_requests": "in-page observer of fetch/XHR, injected at document start",
    "challenges": "WebKitWebView::authenticate in the shell (scheme and realm; the 401's own headers "
    "are not shown)",
    "cookies": "the profile's cookie database (persistent cookies) and WebDriver Get All Cookies "
    "(the last page's origin, session cookies included)",
    "storage": "JavaScript on the last page (localStorage, sessionStorage) and the in-page observer "
    "(each origin's localStorage as its first page started)",
    "cache_storage": "JavaScript on the last page (Cache API, service worker registrations)",
    "served_from": "heuristic: a response whose Date precedes its request by more than "
    f"{STALE_DATE_S:g} s came from the HTTP cache",
}
NOT_OBSERVABLE: tuple[str, ...] = ("cookies_sent", "set_cookies", "cookies_not_sent", "challenge_headers")


# -- discovery ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _shell_python(candidates: tuple[str, ...] = SYSTEM_PYTHON) -> tuple[str, str] | str:
    """(interpreter, WebKitGTK version) of a system Python that has WebKit2GTK 4.1's bindings."""
    probe = (
        "import gi; gi.require_version('WebKit2', '4.1'); from gi.repository import WebKit2; "
        "print('%d.%d.%d' % (WebKit2.get_major_version(), WebKit2.get_minor_version(), "
        "WebKit2.get_micro_version()))"
    )
    for python in candidates:
        if not Path(python).is_file():
            continue
        try:
            done = subprocess.run(
                [python, "-c", probe], capture_output=True, text=True, timeout=20, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip():
            return python, done.stdout.strip()
    return "no system Python with WebKitGTK's bindings (python3-gi, gir1.2-webkit2-4.1)"


def find_recipe() -> LaunchRecipe | str:
    """The WebDriver recipe for WebKitGTK, or why it cannot run here."""
    driver = shutil.which("WebKitWebDriver")
    if driver is None:
        return (
            "Playwright's WebKit build is not installed, and neither is WebKitGTK's WebKitWebDriver "
            "(Debian: webkit2gtk-driver)"
        )
    python = _shell_python()
    if isinstance(python, str):
        return f"Playwright's WebKit build is not installed, and WebKitGTK cannot run: {python}"
    xvfb = shutil.which("Xvfb")
    if xvfb is None and not os.environ.get("DISPLAY"):
        return "Playwright's WebKit build is not installed, and WebKitGTK needs a display: install xvfb"
    interpreter, version = python
    options = {"webdriver": driver, "python": interpreter, "xvfb": xvfb}
    # The executable shown is the shell (it prints the WebKitGTK version when asked); the driver starts it.
    return LaunchRecipe("webkit", HOW, str(SHELL), version, options)


def is_webdriver_recipe(recipe: LaunchRecipe | None) -> bool:
    """This recipe runs WebKit through this module rather than Playwright."""
    return recipe is not None and recipe.engine == "webkit" and recipe.how == HOW


# -- the lane's processes -----------------------------------------------------------------------


@contextmanager
def _display(recipe: LaunchRecipe, headless: bool) -> Iterator[str]:
    """An X display for the browser: a private Xvfb (headless), else the desktop's."""
    if not headless and os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = recipe.options.get("xvfb")
    if not xvfb:
        yield os.environ.get("DISPLAY", "")
        return
    read, write = os.pipe()
    process = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        number = b""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(read, 16)  # Xvfb writes the display number, then a newline, once ready
            if not chunk:
                break
            number += chunk
        if not number.strip():
            raise WebDriverError("no display", "Xvfb did not start")
        yield f":{number.decode().strip()}"
    finally:
        os.close(read)
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def webdriver_service(recipe: LaunchRecipe, headless: bool, log_dir: Path) -> Iterator[Driver]:
    """Xvfb plus WebKitWebDriver on a free loopback port, stopped on exit."""
    with _display(recipe, headless) as display:
        port = free_port()
        log = open(log_dir / "webkitwebdriver.log", "wb")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(
            [str(recipe.options["webdriver"]), f"--port={port}", "--host=local"],
            env={**os.environ, "DISPLAY": display},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            driver = Driver(f"http://127.0.0.1:{port}")
            driver.wait_ready(START_TIMEOUT_S)
            yield driver
        finally:
            _stop(process)
            log.close()


# -- in-page observer ---------------------------------------------------------------------------

# Injected at document start in every frame: reports each origin's first localStorage, and every
# fetch/XHR the page makes (status, response headers it may read, the header names it set), through
# the shell's script message handler (window.webkit.messageHandlers.loginprobe).
OBSERVER_JS = r"""(() => {
  if (window.__loginprobeObserver) return;
  window.__loginprobeObserver = true;
  const post = (m) => { try { window.webkit.messageHandlers.loginprobe.postMessage(JSON.stringify(m)); }
                        catch (e) { /* no handler (not loginprobe's shell): nothing to report to */ } };
  try {
    if (window.top === window) {
      const items = {};
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i); items[k] = localStorage.getItem(k);
      }
      post({kind: 'storage', origin: location.origin, items});
    }
  } catch (e) { /* opaque origins and blocked storage have nothing to report */ }
  const names = (h) => { try { return [...new Headers(h || {}).keys()]; } catch (e) { return []; } };
  const origFetch = window.fetch;
  if (origFetch) window.fetch = function (input, init) {
    const raw = typeof input === 'string' ? input : (input && input.url) || String(input);
    const url = new URL(raw, location.href).href;
    const method = ((init && init.method) || (input && input.method) || 'GET').toUpperCase();
    const set = names((init && init.headers) || (input && input.headers));
    return origFetch.apply(this, arguments).then((r) => {
      post({kind: 'fetch', url, method, set, status: r.status, headers: [...r.headers]}); return r;
    }, (e) => { post({kind: 'fetch', url, method, set, error: String(e)}); throw e; });
  };
  const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send,
        setHeader = XMLHttpRequest.prototype.setRequestHeader;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__lp = {method: String(method).toUpperCase(), url: new URL(url, location.href).href, set: []};
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.setRequestHeader = function (name) {
    if (this.__lp) this.__lp.set.push(String(name).toLowerCase()); return setHeader.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    const lp = this.__lp;
    if (lp) this.addEventListener('loadend', () => {
      const headers = (this.getAllResponseHeaders() || '').trim().split(/\r?\n/).filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]);
      post({kind: 'xhr', url: lp.url, method: lp.method, set: lp.set, status: this.status || null, headers});
    });
    return send.apply(this, arguments);
  };
})();"""

PAGE_STATE_JS = """const done = arguments[arguments.length - 1];
(async () => {
  const out = {origin: location.origin, url: location.href, sw: [], caches: [], local: {}, session: {},
               errors: []};
  try {
    for (const r of await navigator.serviceWorker.getRegistrations()) {
      const w = r.active || r.waiting || r.installing;
      out.sw.push({scope: r.scope, script: w ? w.scriptURL : '', state: w ? w.state : null});
    }
  } catch (e) { out.errors.push('service workers: ' + e); }
  try {
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const req of await cache.keys()) {
        const res = await cache.match(req);
        out.caches.push({cache: name, url: req.url, status: res ? res.status : null,
                         headers: res ? [...res.headers] : []});
      }
    }
  } catch (e) { out.errors.push('Cache API: ' + e); }
  for (const [area, store] of [['local', () => localStorage], ['session', () => sessionStorage]]) {
    try {
      const s = store();
      for (let i = 0; i < s.length; i++) { const k = s.key(i); out[area][k] = s.getItem(k); }
    }
    catch (e) { out.errors.push(area + 'Storage: ' + e); }
  }
  return out;
})().then(done, (e) => done({error: String(e)}));"""

FETCH_JS = """const [url, headers, done] = arguments;
fetch(url, {headers, credentials: 'include'}).then((r) => done({status: r.status}),
  (e) => done({status: null, error: String(e)}));"""

FORM_SHOWN_JS = """return [...document.querySelectorAll(arguments[0])].some(
  (e) => e.offsetParent !== null || e.getClientRects().length > 0);"""


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


def _same_resource(url: str, target: str) -> bool:
    """Same origin and path; the query only counts when the target names one (the probe's rule)."""
    a, b = urlsplit(url), urlsplit(target)
    if (a.scheme, a.netloc, a.path or "/") != (b.scheme, b.netloc, b.path or "/"):
        return False
    return not b.query or a.query == b.query


@dataclass(slots=True)
class WebKitRun:
    """Drive one WebDriver session through a site's login and build its evidence."""

    session: Session
    site: Site
    log: ResourceLog
    timeout_s: float
    returning: bool = False
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
        return any(_same_resource(url, self.site.target) for url in self.log.urls_requested())

    def await_answer(self, seconds: float) -> None:
        """Wait until every request for the protected URL has finished or failed."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            events = self.log.refresh()
            wanted = {
                e["id"]
                for e in events
                if e["event"] in ("request", "redirect")
                and _same_resource(e.get("to") or e["url"], self.site.target)
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
        self.open(self.site.url)
        filled = self.fill_login_form()
        if origin_of(self.session.current_url) == app_origin:
            return
        if not filled:
            raise FlowFailedHere(
                f"the identity provider at {origin_of(self.session.current_url)} showed no login form"
            )
        deadline = time.monotonic() + min(self.timeout_s, 15.0)
        while origin_of(self.session.current_url) != app_origin:
            if time.monotonic() > deadline:
                raise FlowFailedHere(
                    f"the identity provider never redirected back to {app_origin} "
                    f"(stuck on {self.session.current_url})"
                )
            time.sleep(POLL_S)
        self.settle()

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

    def fill_login_form(self) -> bool:
        """Fill and submit the login form the page shows (username-first forms too); False if none."""
        site, creds = self.site, self.site.credentials
        password = self._wait_visible(PASSWORD_CSS, site.form.password_selector, 1.5)
        username = self._visible(USERNAME_CSS, site.form.username_selector)
        if password is None and username is None:
            if not _same_resource(self.session.current_url, site.url):
                return False  # sent away from the login page without a form ("already signed in")
            password = self._wait_visible(PASSWORD_CSS, site.form.password_selector, min(self.timeout_s, 8.0))
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
        if site.url != self.returning_url() and _same_resource(url, site.url):
            return f"the visit landed on the login page {site.url}"
        selectors = [s for s in (site.form.password_selector, site.form.username_selector) if s]
        try:
            if self.session.execute(FORM_SHOWN_JS, ", ".join(selectors or PASSWORD_CSS)):
                return f"{url} shows a login form"
        except WebDriverError:
            pass  # the page navigated while we looked: no form to speak of
        return None

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
        if opens_app and app_url and not _same_resource(self.session.current_url, app_url):
            self.open(app_url)
        timed_out = flow_error is not None and flow_error.startswith("timed out")
        if not self.settle():
            self.open(site.target)
        self.await_answer(0.0 if timed_out else self.timeout_s)
        return flow_error


# -- evidence -----------------------------------------------------------------------------------


class EvidenceBuilder:
    """Turns the shell's log, the page's state and the cookie jar into evidence (every value redacted)."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.jwts: list[JwtRecord] = []

    def url(self, url: str) -> str:
        from loginprobe.flows.recorder import _clean_url  # the recorder's rule for secrets in URLs

        return _clean_url(url, self.redactor)

    def request_headers(self, headers: list[Header]) -> list[Header]:
        out: list[Header] = []
        for name, value in headers:
            if name.lower() in CREDENTIAL_HEADERS:
                described = describe_authorization(value, self.redactor)
                out.append((name, f"{described.scheme} {described.fingerprint}".strip()))
            else:
                out.append((name, self.redactor.text(value)))
        return out

    def response_headers(self, headers: list[Header]) -> list[Header]:
        return [(name, self.redactor.text(value)) for name, value in headers]

    def exchanges(self, events: list[dict[str, Any]], observed: list[dict[str, Any]]) -> list[Exchange]:
        """One exchange per hop: each redirect and each answered challenge is its own."""
        by_id: dict[int, dict[str, Any]] = {}
        order: list[int] = []
        challenges: list[dict[str, Any]] = []
        for event in events:
            kind = event["event"]
            if kind == "request":
                by_id[event["id"]] = {**event, "hops": [], "end": None}
                order.append(event["id"])
            elif kind in ("redirect", "finished", "failed") and event.get("id") in by_id:
                target = by_id[event["id"]]
                if kind == "redirect":
                    target["hops"].append(event)
                else:
                    target["end"] = event
            elif kind == "challenge":
                challenges.append(event)
        page_calls = {
            (o.get("method"), o.get("url")): o for o in observed if o.get("kind") in ("fetch", "xhr")
        }
        out: list[Exchange] = []
        for rid in order:
            item = by_id[rid]
            url, method, headers = item["url"], item["method"], item["headers"]
            if not url.startswith(("http://", "https://")):
                continue
            started = datetime.fromtimestamp(item["t"], UTC)
            kind = page_calls.get((method, url), {}).get("kind")
            resource_type = "document" if item.get("main") else (kind or "other")
            previous: int | None = None
            for hop in item["hops"]:
                ex = self._exchange(
                    len(out), method, url, headers, hop["status"], hop["headers"], item, started
                )
                out.append(
                    ex.model_copy(update={"redirected_from": previous, "resource_type": resource_type})
                )
                previous = ex.id
                url, headers = hop["to"], hop.get("to_headers") or headers
                if hop["status"] in (301, 302, 303) and method == "POST":
                    method = "GET"
            for challenge in challenges:
                if challenge.get("page") == item.get("page") and self._challenge_for(
                    challenge, url, item, by_id
                ):
                    out.append(
                        self._challenge_round(len(out), method, url, headers, challenge, started, item)
                    )
                    challenge["matched"] = True
            end = item["end"] or {}
            ex = self._exchange(
                len(out), method, url, headers, end.get("status"), end.get("headers") or [], item, started
            )
            update: dict[str, Any] = {"redirected_from": previous, "resource_type": resource_type}
            if end.get("event") == "failed":
                update["failure"] = end.get("error")
            if end.get("event") == "finished" and end.get("status") in (0, None):
                update["status"] = None
            out.append(ex.model_copy(update=update))
        return out

    @staticmethod
    def _challenge_for(
        challenge: dict[str, Any], url: str, item: dict[str, Any], by_id: dict[int, dict[str, Any]]
    ) -> bool:
        """A challenge belongs to the latest request to its host started before it."""
        if challenge.get("matched") or challenge.get("proxy"):
            return False
        host = urlsplit(url).hostname
        if host != challenge.get("host") or item["t"] > challenge["t"]:
            return False
        later = [
            other
            for other in by_id.values()
            if urlsplit(other["url"]).hostname == host and item["t"] < other["t"] <= challenge["t"]
        ]
        return not later

    def _challenge_round(
        self,
        index: int,
        method: str,
        url: str,
        headers: list[Header],
        challenge: dict[str, Any],
        started: datetime,
        item: dict[str, Any],
    ) -> Exchange:
        """The 401 WebKit answered inside one load, rebuilt from the shell's authenticate signal."""
        params = {"realm": challenge["realm"]} if challenge.get("realm") else {}
        scheme = str(challenge.get("scheme", ""))
        from loginprobe.evidence import Challenge

        return Exchange(
            id=index,
            method=method,
            url=self.url(url),
            resource_type="document" if item.get("main") else "other",
            is_navigation=bool(item.get("main")),
            page=int(item.get("page", 0)),
            request_headers=self.request_headers([tuple(h) for h in headers]),  # type: ignore[misc]
            status=401,
            served_from="network",
            served_from_signal="webkitgtk authenticate signal (the challenge round, rebuilt: its own "
            "headers are not shown)",
            started_at=started,
            challenges=[Challenge(scheme=scheme, params=params)] if scheme else [],
        )

    def _exchange(
        self,
        index: int,
        method: str,
        url: str,
        raw_request: list[Any],
        status: int | None,
        raw_response: list[Any],
        item: dict[str, Any],
        started: datetime,
    ) -> Exchange:
        request_headers: list[Header] = [(str(k), str(v)) for k, v in raw_request]
        response_headers: list[Header] = [(str(k), str(v)) for k, v in raw_response]
        server_date = parse_http_date(next((v for k, v in response_headers if k.lower() == "date"), None))
        served_from: Any = "unknown"
        signal = ""
        if status is not None and server_date is not None:
            age = (started - server_date).total_seconds()
            if age > STALE_DATE_S:
                served_from, signal = (
                    "disk-cache",
                    f"webkitgtk heuristic: Date {age:.0f} s older than the request",
                )
            else:
                served_from, signal = "network", "webkitgtk heuristic: Date as fresh as the request"
        authorization = None
        for name, value in request_headers:
            if name.lower() == "authorization":
                authorization = describe_authorization(value, self.redactor)
                for token in find_jwts(value):
                    record = decode_jwt(
                        token,
                        found_in="request header Authorization",
                        redactor=self.redactor,
                        exchange_id=index,
                        server_date=server_date,
                    )
                    if record is not None:
                        self.jwts.append(record)
        cookies_sent = [
            n for k, v in request_headers if k.lower() == "cookie" for n in parse_cookie_header(v)
        ]
        return Exchange(
            id=index,
            method=method,
            url=self.url(url),
            is_navigation=bool(item.get("main")),
            page=int(item.get("page", 0)),
            request_headers=self.request_headers(request_headers),
            status=status,
            response_headers=self.response_headers(response_headers),
            served_from=served_from,
            served_from_signal=signal,
            started_at=started,
            authorization=authorization,
            challenges=parse_challenge_headers(
                [v for k, v in response_headers if k.lower() == "www-authenticate"]
            ),
            proxy_challenges=parse_challenge_headers(
                [v for k, v in response_headers if k.lower() == "proxy-authenticate"]
            ),
            cookies_sent=cookies_sent,
            server_date=server_date,
        )

    # -- state ------------------------------------------------------------------------------
    def cookie(self, raw: dict[str, Any]) -> CookieRecord:
        value = str(raw.get("value", ""))
        expires = raw.get("expiry")
        same_site = raw.get("sameSite")
        return CookieRecord(
            name=str(raw["name"]),
            value_fingerprint=self.redactor.cookie(str(raw["name"]), value),
            domain=str(raw.get("domain", "")),
            path=str(raw.get("path", "/")),
            expires=float(expires) if expires not in (None, -1) else None,
            http_only=bool(raw.get("httpOnly")),
            secure=bool(raw.get("secure")),
            same_site=str(same_site) if same_site else None,
        )

    def local(self, items: dict[str, Any]) -> dict[str, str]:
        return {str(k): self.redactor.add(str(v), searchable=len(str(v)) >= 8) for k, v in items.items()}

    def state_jwts(
        self, raw_cookies: list[dict[str, Any]], storage: dict[str, dict[str, str]], when: str
    ) -> None:
        for cookie in raw_cookies:
            for token in find_jwts(str(cookie.get("value", ""))):
                record = decode_jwt(token, found_in=f"cookie {cookie['name']}{when}", redactor=self.redactor)
                if record is not None:
                    self.jwts.append(record)
        for origin, items in storage.items():
            for key, value in items.items():
                for token in find_jwts(str(value)):
                    record = decode_jwt(
                        token, found_in=f"localStorage {key} ({origin}){when}", redactor=self.redactor
                    )
                    if record is not None:
                        self.jwts.append(record)


def read_cookie_db(data_dir: Path) -> list[dict[str, Any]]:
    """Persistent cookies of a shell profile (libsoup's moz_cookies table), in WebDriver's shape."""
    path = data_dir / "cookies.sqlite"
    if not path.is_file():
        return []
    # Read a copy: the database may be open in a browser of another lane.
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "cookies.sqlite"
        shutil.copyfile(path, copy)
        try:
            with sqlite3.connect(copy) as db:
                rows = db.execute(
                    "SELECT name, value, host, path, expiry, isSecure, isHttpOnly, sameSite FROM moz_cookies"
                ).fetchall()
        except sqlite3.Error:
            return []
    same_site = {0: "None", 1: "Lax", 2: "Strict"}
    return [
        {
            "name": name,
            "value": value,
            "domain": host,
            "path": cookie_path,
            "expiry": expiry,
            "secure": bool(secure),
            "httpOnly": bool(http_only),
            "sameSite": same_site.get(int(site or 0), "None"),
        }
        for name, value, host, cookie_path, expiry, secure, http_only, site in rows
    ]


def _files(folder: Path) -> set[tuple[str, int]]:
    found = set()
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                found.add((str(path), path.stat().st_size))
        except OSError:
            continue  # written or removed while we looked: the next look sees it settled
    return found


def _await_writes(data_dir: Path, log: ResourceLog) -> None:
    """Let WebKit write the cache and storage of a profile that is kept (see CACHE_WRITE_DELAY_S)."""
    finished = [e["t"] for e in log.refresh() if e["event"] in ("finished", "failed")]
    last = max(finished, default=time.time())
    deadline = time.monotonic() + CACHE_FLUSH_MAX_S
    previous: set[tuple[str, int]] | None = None
    while time.monotonic() < deadline:
        current = _files(data_dir)
        if time.time() - last >= CACHE_WRITE_DELAY_S and current == previous:
            return
        previous = current
        time.sleep(POLL_S * 3)


def _merge_cookies(*jars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for jar in jars:
        for cookie in jar:
            domain = str(cookie.get("domain", "")).lstrip(".")
            merged[(str(cookie["name"]), domain, str(cookie.get("path", "/")))] = cookie
    return list(merged.values())


# -- the lane -----------------------------------------------------------------------------------


def _skip_reason(spec: RunSpec) -> str | None:
    """Runs WebKit over WebDriver cannot do, with the reason (a skip, never a pretend result)."""
    if spec.site.flow == "script":
        return (
            "script flows are Playwright functions login(page, site); WebKit here runs over WebDriver "
            "classic (WebKitGTK), which has no Playwright page to give them"
        )
    if spec.mode == "state":
        return "mode 'state' (a Playwright storage_state file) is not supported for WebKitGTK over WebDriver"
    if spec.ablation in ("only-cookies", "only-storage"):
        return (
            f"ablation {spec.ablation} transplants Playwright storage state, which WebKitGTK over "
            "WebDriver cannot take (WebDriver adds cookies only for the open page's domain)"
        )
    if spec.site.steps:
        return "interaction steps are not supported for WebKitGTK over WebDriver yet"
    return None


def run_lane(runner: Runner, specs: list[RunSpec], recipe: LaunchRecipe) -> list[RunResult]:
    """Every spec of one WebKit lane, over one WebKitWebDriver (each run its own browser session)."""
    from loginprobe.flows.runner import RunResult

    out: list[RunResult] = []
    lane_dir = Path(tempfile.mkdtemp(prefix="webkit-lane-", dir=runner.workdir))
    try:
        with webdriver_service(recipe, runner.settings.headless, lane_dir) as driver:
            for spec in specs:
                if runner.stop.is_set():
                    result = runner._skip(spec, "interrupted before this run started")
                    result.interrupted = True
                    out.append(result)
                    continue
                reason = _skip_reason(spec)
                if reason is not None:
                    out.append(runner._skip(spec, reason))
                    continue
                runner.progress(spec, "start", None)
                try:
                    evidence = _run_one(runner, driver, recipe, spec)
                    result = RunResult(spec, evidence=evidence)
                except _NotPossibleHere as exc:
                    result = runner._skip(spec, str(exc))
                except WebDriverError as exc:
                    result = runner._skip(spec, f"webkit (WebKitGTK over WebDriver) failed: {exc}", True)
                except Exception as exc:  # a bug of ours must not take the other runs down with it
                    result = runner._skip(
                        spec,
                        f"loginprobe failed on this run ({type(exc).__name__}: {exc}); please report it",
                        True,
                    )
                runner.progress(spec, "done" if result.evidence else "skipped", result)
                out.append(result)
    except (WebDriverError, OSError) as exc:
        done = {r.spec.run_id for r in out}
        out.extend(
            runner._skip(spec, f"webkit (WebKitGTK) failed to start: {exc}", True)
            for spec in specs
            if spec.run_id not in done
        )
    return out


class _NotPossibleHere(Exception):
    """This run cannot be done in this configuration (a skip with a reason)."""


def _profile_for(runner: Runner, spec: RunSpec, run_dir: Path) -> tuple[Path, list[str], bool]:
    """The data folder for this run, notes on how it was prepared, and whether it is a returning visit."""
    settings, site = runner.settings, spec.site
    if spec.mode == "fresh":
        folder = run_dir / "profile"
        folder.mkdir()
        return folder, ["a new, empty WebKitGTK data folder"], False
    root = profiles.profile_root(settings, site, "webkit")
    notes: list[str] = []
    if profiles.exists(root):
        copy = profiles.working_copy(root, runner.workdir)
        returning = spec.ablation != "relogin"
    else:
        if spec.ablation is not None:
            raise _NotPossibleHere(f"no persisted profile at {root} to take apart")
        copy = Path(tempfile.mkdtemp(prefix="profile-new-", dir=runner.workdir))
        notes.append(f"no profile existed at {root}: this run created it by logging in (a first visit)")
        with runner._lock:
            runner._pending_commits.append((copy, root))
        returning = False
    if spec.ablation == "no-cache":
        removed = profiles.strip_cache(copy, "webkit")
        notes.append(
            "profile copy without HTTP cache, service workers and Cache API"
            + (f" (removed {', '.join(removed)})" if removed else " (none was on disk)")
        )
    if spec.ablation == "no-cookies":
        (copy / "cookies.sqlite").unlink(missing_ok=True)
        notes.append("profile copy with every cookie removed")
    return copy, notes, returning


def _shell_config(settings: Settings, spec: RunSpec, data_dir: Path, log: Path) -> dict[str, Any]:
    site = spec.site
    config: dict[str, Any] = {
        "data_dir": str(data_dir),
        "network_log": str(log),
        "init_script": OBSERVER_JS,
        "ignore_tls_errors": settings.ignore_https_errors,
    }
    creds = site.credentials
    if site.flow in CHALLENGE_FLOWS and (creds.username is not None or creds.password is not None):
        config["http_credentials"] = {
            "username": creds.username or "",
            "password": creds.password.get_secret_value() if creds.password else "",
        }
    if spec.via_proxy and settings.proxy:
        config["proxy"] = settings.proxy
    return config


def _run_one(runner: Runner, driver: Driver, recipe: LaunchRecipe, spec: RunSpec) -> RunEvidence:
    settings, site, redactor = runner.settings, spec.site, runner.redactor
    run_dir = Path(tempfile.mkdtemp(prefix=f"{spec.run_id}-", dir=runner.workdir))
    data_dir, notes, returning = _profile_for(runner, spec, run_dir)
    first_visit = spec.mode == "persisted" and not returning and spec.ablation is None
    keep = first_visit or (
        spec.mode == "persisted" and settings.update_profile and spec.ablation is None and not spec.via_proxy
    )
    log_path = run_dir / "resources.jsonl"
    config_path = run_dir / "shell.json"
    # The config holds the HTTP credentials: private to this user, deleted when the browser is up.
    descriptor = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(_shell_config(settings, spec, data_dir, log_path), handle)
    builder = EvidenceBuilder(redactor)
    raw_before = read_cookie_db(data_dir)
    before = StateSnapshot(
        taken="before",
        cookies=[builder.cookie(c) for c in raw_before],
        note="persistent cookies from the profile's cookie database (session cookies end with the browser)",
    )
    started_at = datetime.now(UTC)
    capabilities = {
        "acceptInsecureCerts": settings.ignore_https_errors,
        "webkitgtk:browserOptions": {
            "binary": str(recipe.options["python"]),
            "args": [str(SHELL), f"--config={config_path}"],
        },
    }
    try:
        session = driver.new_session(capabilities)
    finally:
        config_path.unlink(missing_ok=True)
    log = ResourceLog(log_path)
    run = WebKitRun(session, site, log, settings.timeout, returning=returning)
    last_cookies: list[dict[str, Any]] = []
    page_state: dict[str, Any] = {}
    try:
        session.set_timeouts(settings.timeout)
        flow_error = run.run()
        try:
            last_cookies = session.cookies()
            if origin_of(session.current_url) in {origin_of(site.url), origin_of(site.target)}:
                page_state = session.execute_async(PAGE_STATE_JS) or {}
        except WebDriverError as exc:
            notes.append(f"state of the last page unreadable: {exc}")
        if keep:
            _await_writes(data_dir, log)
    finally:
        session.close()
    events = log.refresh()
    observed = [e["message"] for e in events if e["event"] == "page" and isinstance(e.get("message"), dict)]
    exchanges = builder.exchanges(events, observed)
    raw_after = _merge_cookies(read_cookie_db(data_dir), last_cookies)
    initial = {o["origin"]: o.get("items") or {} for o in reversed(observed) if o.get("kind") == "storage"}
    known_before = {}
    if returning or spec.mode == "persisted":
        known_before = {origin: items for origin, items in initial.items() if items}
    if known_before:
        before = before.model_copy(
            update={
                "storage": [StorageArea(origin=o, local=builder.local(i)) for o, i in known_before.items()],
                "note": before.note + "; localStorage of each origin read as its first page started",
            }
        )
    after = _after_snapshot(builder, raw_after, page_state)
    server_date = next((ex.server_date for ex in reversed(exchanges) if ex.server_date), None)
    builder.state_jwts(raw_before, known_before, " before the run")
    builder.state_jwts(raw_after, {page_state.get("origin", ""): page_state.get("local") or {}}, "")
    jwts = [j.model_copy(update={"reference_time": j.reference_time or server_date}) for j in builder.jwts]
    from loginprobe.flows.probe import judge

    outcome: Outcome = judge(site, exchanges, flow_error, None, redactor, settings.timeout)
    if spec.mode == "persisted" and settings.update_profile and spec.ablation is None and not spec.via_proxy:
        with runner._lock:
            runner._pending_commits.append((data_dir, profiles.profile_root(settings, site, "webkit")))
    if site.flow in CHALLENGE_FLOWS and "http_credentials" in _shell_config(
        settings, spec, data_dir, log_path
    ):
        hidden = ["authorization"]
        notes.append(
            "WebKitGTK answers HTTP authentication inside its network stack: the Authorization it sent is "
            "not shown; each challenge it answered is rebuilt from the authenticate signal (scheme, realm)"
        )
    else:
        hidden = []
    key_name = site.token.name or ("X-API-Key" if site.token.location == "header" else "api_key")
    api_key = site.flow == "api-key"
    fields: dict[str, Any] = {}
    model_fields = RunEvidence.model_fields
    for name, value in (
        ("returning_visit", returning),
        ("login_ran", run.login_ran),
        ("login_trigger", run.login_trigger),
        ("evidence_sources", dict(EVIDENCE_SOURCES)),
        ("not_observable", list(NOT_OBSERVABLE)),
    ):
        if name in model_fields:
            fields[name] = value
    return RunEvidence(
        run_id=spec.run_id,
        site=site.name,
        engine="webkit",
        engine_version=str(session.capabilities.get("browserVersion") or recipe.version or ""),
        launch=recipe.how,
        mode=spec.mode,
        ablation=spec.ablation,
        via_proxy=spec.via_proxy,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        expectations=Expectations(
            flow=site.flow,
            protected_url=redactor.text(site.target),
            start_url=redactor.text(site.url),
            audience=site.audience,
            issuer=site.issuer,
            api_key_name=key_name if api_key else None,
            api_key_location=site.token.location if api_key else None,
            credentials_configured=site.credentials.configured(),
            proxy=redactor.text(settings.proxy) if spec.via_proxy and settings.proxy else None,
        ),
        exchanges=exchanges,
        before=before,
        after=after,
        jwts=jwts,
        outcome=outcome,
        cache_signal=EVIDENCE_SOURCES["served_from"],
        engine_notes=notes,
        hidden_request_headers=hidden,
        **fields,
    )


def _after_snapshot(
    builder: EvidenceBuilder, raw_cookies: list[dict[str, Any]], page: dict[str, Any]
) -> StateSnapshot:
    storage: list[StorageArea] = []
    if page.get("origin"):
        storage.append(
            StorageArea(
                origin=str(page["origin"]),
                local=builder.local(page.get("local") or {}),
                session=builder.local(page.get("session") or {}),
            )
        )
    workers = [
        ServiceWorkerRecord(scope=sw["scope"], script_url=sw["script"], state=sw.get("state"))
        for sw in page.get("sw", [])
    ]
    entries = [
        CacheStorageEntry(
            cache_name=entry["cache"],
            url=builder.url(entry["url"]),
            status=entry.get("status"),
            headers=builder.response_headers([(str(k), str(v)) for k, v in entry.get("headers", [])]),
        )
        for entry in page.get("caches", [])
    ]
    notes = list(page.get("errors", []))
    if not page:
        notes.append("no page was left on the site's origin: storage, service workers and Cache API not read")
    notes.append("cookies: the profile's database (persistent) and WebDriver's view of the last page")
    return StateSnapshot(
        taken="after",
        cookies=[builder.cookie(c) for c in raw_cookies],
        storage=storage,
        service_workers=workers,
        cache_storage=entries,
        note="; ".join(notes),
    )
