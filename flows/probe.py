"""Drive one open browser context through a site's flow and judge the outcome from the protected
resource (flows/outcome.py). Shared by the runner (its own contexts) and the pytest plugin
(pytest-playwright's).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from loginprobe.config.settings import Site
from loginprobe.evidence import (
    Artifacts,
    Engine,
    Exchange,
    Expectations,
    JwtRecord,
    Mode,
    Outcome,
    RunEvidence,
    StateSnapshot,
    origin_of,
    same_resource,
)
from loginprobe.flows import engines, realm
from loginprobe.flows.base import FlowFailed, flow_for, run_timeout
from loginprobe.flows.challenges import cancel_unanswerable_challenges
from loginprobe.flows.outcome import judge
from loginprobe.flows.recorder import Recorder
from loginprobe.flows.visit import CHALLENGE_FLOWS, CREDENTIAL_FLOWS, login_requested, open_quietly
from loginprobe.secrets import Redactor

# Settling after a flow that never asked for the protected resource itself (see _ensure_protected_request).
SETTLE_MAX_S = 5.0
SETTLE_QUIET_S = 0.6
SETTLE_POLL_MS = 100
# How long an answered protected request may take to finish (its body on the way) before collecting.
FINISH_WAIT_S = 3.0
TIMED_OUT = "timed out"
# Flows after which `app_url` is opened, so that its scripts make the protected request.
APP_PAGE_FLOWS = ("form", "oidc", "script")
NOTHING_HELD = "the returning browser holds no cookie or storage: nothing signs it in"

CRASH_MARKERS = ("has been closed", "Target closed", "Browser closed", "Connection closed", "crashed")


def _poll(page: Page, done: Callable[[], bool], seconds: float) -> None:
    """Let Playwright deliver the page's events until `done()` or `seconds` pass (a closed page
    ends the wait; a crashed browser is raised)."""
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        try:
            page.wait_for_timeout(SETTLE_POLL_MS)
        except PlaywrightError as exc:
            if is_crash(exc):
                raise
            return


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def is_crash(exc: PlaywrightError) -> bool:
    """The browser or its connection went away (as opposed to a page-level failure)."""
    return any(marker in str(exc) for marker in CRASH_MARKERS)


@dataclass(slots=True)
class Probe:
    """One context being driven; `start()` before the flow, `run()` to log in and judge."""

    context: BrowserContext
    site: Site
    engine: Engine
    redactor: Redactor
    timeout_s: float
    capture: bool
    recorder: Recorder | None = None
    page: Page | None = None
    started_at: datetime | None = None
    jwts: list[JwtRecord] = field(default_factory=list)
    returning: bool = False  # a returning visit: sign in only if the site asks (flows/visit.py)
    landing_hint: str | None = None  # where this profile's last login landed (a returning user opens it)
    landing_url: str | None = None  # where this run's login landed, on the site's own origins
    on_submitted: Callable[[Page], object] | None = None  # called once a page flow submitted its login
    _login_mark: int = 0  # requests recorded before the login began (a returning visit's come first)
    _signed_in: bool = False  # the flow ran and reported no failure
    login_ran: bool = True
    login_trigger: str | None = None

    def start(self) -> Recorder:
        self.started_at = datetime.now(UTC)
        timeout_ms = self.timeout_s * 1000
        self.context.set_default_timeout(timeout_ms)
        self.context.set_default_navigation_timeout(timeout_ms)
        origins = sorted({origin_of(self.site.url), origin_of(self.site.target)})
        # The first page exists before the recorder subscribes, so it is attached synchronously
        # (attaching CDP from the "page" event can miss the first navigation's events).
        if not self.context.pages:
            self.context.new_page()
        self.recorder = Recorder(
            self.context,
            engine=self.engine,
            redactor=self.redactor,
            capture=self.capture,
            site_origins=origins,
        )
        self.recorder.start()
        return self.recorder

    def run(self) -> tuple[list[Exchange], StateSnapshot, Outcome, list[str]]:
        """Log in (a returning visit: only if the site asks), make sure the protected resource was
        asked for, collect, and judge."""
        assert self.recorder is not None, "start() first"
        page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.recorder.attach(page)
        answered = "http_credentials" in flow_for(self.site).context_options(self.site)
        if self.engine == "chromium" and not answered:
            # Nobody answers a Basic/Digest challenge here: Chromium would hold the protected request
            # (a page script's fetch, a returning visit) forever; the page gets the 401 instead.
            cancel_unanswerable_challenges(page, [self.site.target])
        with run_timeout(self.timeout_s):
            flow_error = self._return_or_login(page)
        page = self._live_page(page)
        self.page = page
        # A flow that timed out has already waited the whole timeout for the page's requests.
        timed_out = flow_error is not None and flow_error.startswith(TIMED_OUT)
        self._ensure_protected_request(page, answer_wait_s=0.0 if timed_out else self.timeout_s)
        selector_ok = self._selector_visible(page)
        exchanges, after, self.jwts, notes = self.recorder.finish()
        outcome = judge(self.site, exchanges, flow_error, selector_ok, self.redactor, self.timeout_s)
        # Refused Basic/Digest credentials: the same ones at the origin's root and parent paths.
        exchanges = exchanges + realm.probe_realms(self.site, exchanges, self.redactor, self.timeout_s)
        # Any refused credential: the same again where no cache has a copy (a URL-keyed shared cache).
        exchanges = exchanges + realm.probe_cache(self.site, exchanges, self.redactor, self.timeout_s)
        return exchanges, after, outcome, notes

    def _return_or_login(self, page: Page) -> str | None:
        """A returning visit opens what a returning user opens and signs in only if the site asks;
        any other run signs in. Then the app page, when one is configured, makes its own requests."""
        site = self.site
        opened = self.returning_url
        if self.returning and opened is None:
            self.login_trigger = "no app page to open: the flow sends the credential itself"
        elif self.returning and opened is not None:
            open_quietly(page, opened)
            if not self._settle(page) and site.flow not in CREDENTIAL_FLOWS:
                # The start page never asked for it: a returning user goes there next.
                open_quietly(page, site.target)
                self._settle(page)
            page = self._live_page(page)
            by_script = self._requested_by_page(by_script=site.flow in CREDENTIAL_FLOWS)
            self.login_trigger = login_requested(page, site, opened, by_script)
            if self.login_trigger is None and site.flow in APP_PAGE_FLOWS and self._holds_nothing():
                self.login_trigger = NOTHING_HELD
            self.login_ran = self.login_trigger is not None
            if not self.login_ran or site.flow in CHALLENGE_FLOWS:
                return None  # (an HTTP challenge was answered by the browser during the visit itself)
        assert self.recorder is not None
        self._login_mark = self.recorder.request_count()
        flow_error = self._perform(page)
        self._signed_in = flow_error is None
        page = self._live_page(page)
        if self.on_submitted is not None and site.flow in APP_PAGE_FLOWS:
            self.on_submitted(page)  # before the protected URL replaces the form's own message
        return flow_error

    @property
    def returning_url(self) -> str | None:
        """What a returning user opens: the configured start or app page, else where the profile's
        last login landed, else the protected URL (for flows that attach a credential to the app's
        own request, the app page; None when there is only the API itself)."""
        site = self.site
        chosen = site.start_url or site.app_url or self.landing_hint
        if chosen:
            return chosen
        if site.flow in (*CREDENTIAL_FLOWS, "visit"):
            return site.url if site.url != site.target or site.flow == "visit" else None
        return site.target

    def _holds_nothing(self) -> bool:
        """The profile has no cookie and no localStorage at all: its user was never signed in (or
        signed out), so any site would ask it to sign in."""
        assert self.recorder is not None
        before = self.recorder.before
        # localStorage of an origin shows once a page of it starts (storage_state() of a persistent
        # context lacks origins not yet visited), so this is asked after the visit.
        stored = any(self.recorder.initial_storage.values()) or (
            before is not None and any(area.local for area in before.storage)
        )
        return before is not None and not before.cookies and not stored

    def _requested_by_page(self, by_script: bool = False, since: int = 0) -> bool:
        assert self.recorder is not None
        target = self.site.target
        return self.recorder.requested(lambda url: same_resource(url, target), by_script, since)

    def _perform(self, page: Page) -> str | None:
        """Run the flow; a failure of the login itself is returned as a reason, not raised."""
        try:
            flow_for(self.site).login(page, self.site)
        except FlowFailed as exc:
            return self.redactor.text(str(exc))
        except PlaywrightTimeout as exc:
            return self.redactor.text(f"{TIMED_OUT} after {self.timeout_s:g} s: {first_line(exc)}")
        except PlaywrightError as exc:
            if is_crash(exc):
                raise
            return self.redactor.text(f"the flow stopped: {first_line(exc)}")
        return None

    def _live_page(self, page: Page) -> Page:
        if not page.is_closed():
            return page
        open_pages = [p for p in self.context.pages if not p.is_closed()]
        return open_pages[-1] if open_pages else self.context.new_page()

    def _ensure_protected_request(self, page: Page, answer_wait_s: float) -> None:
        """If the flow never touched the protected resource, let the page settle, then open it.

        A login that ends in script (a fetch, then `location.assign`) often asks for the protected
        resource itself a moment after the flow returns; opening it directly too early would send
        it without what the script attaches (a bearer token from localStorage). So wait until the
        page asks for it, or until nothing has been in flight for a while, whichever comes first.
        `wait_for_load_state("networkidle")` cannot tell: it returns at once when the page already
        idled once before the click.
        """
        site = self.site
        since = self._login_mark
        seen = self._settle(page, since)
        if self._signed_in and origin_of(page.url) in {origin_of(site.target), origin_of(site.url)}:
            self.landing_url = page.url  # where the login took the user: a returning visit opens it
        app_url = site.app_url if site.flow in APP_PAGE_FLOWS else None
        if not seen and self._signed_in and app_url and not same_resource(page.url, app_url):
            # Opened only once the login's own script has settled: a script-driven login stores its
            # token and navigates a moment after its fetch answers, and the app page must see that.
            open_quietly(page, app_url)
            seen = self._settle(page, since)
        if not seen:
            # Chromium raises on some 401s; the response (or failure) is in the record.
            open_quietly(page, site.target)
        self._await_protected_answer(page, answer_wait_s)

    def _settle(self, page: Page, since: int = 0) -> bool:
        """Wait until the page asks for the protected resource (True; counting requests from number
        `since` on), or nothing has been in flight for a while (False)."""
        assert self.recorder is not None
        recorder = self.recorder
        quiet_since: float | None = None

        def settled() -> bool:
            nonlocal quiet_since
            if self._requested_by_page(since=since):
                return True
            if recorder.in_flight():
                quiet_since = None
                return False
            now = time.monotonic()
            quiet_since = now if quiet_since is None else quiet_since
            return now - quiet_since >= SETTLE_QUIET_S

        _poll(page, settled, SETTLE_MAX_S)
        return self._requested_by_page(since=since)

    def _await_protected_answer(self, page: Page, seconds: float) -> None:
        """Wait (up to `seconds`) until every request for the protected resource has its answer.

        The page may still be waiting for it when the flow returns (a service worker starting up,
        a slow API): collecting then would record a request without its response.
        """
        assert self.recorder is not None
        recorder, target = self.recorder, self.site.target

        def protected(url: str) -> bool:
            return same_resource(url, target)

        _poll(page, lambda: not recorder.unanswered(protected), seconds)
        # An answer is not yet a finished response: Chromium can report the 401 of a script's fetch
        # before its body arrived, and an unfinished body is never read (its words were lost).
        _poll(page, lambda: not recorder.unfinished(protected), min(seconds, FINISH_WAIT_S))

    def _selector_visible(self, page: Page) -> bool | None:
        if not self.site.success.selector:
            return None
        try:
            return page.locator(self.site.success.selector).first.is_visible()
        except PlaywrightError:
            return False

    def perform(
        self,
        *,
        run_id: str,
        mode: Mode,
        engine_version: str,
        launch: str,
        notes: list[str] | None = None,
        ablation: str | None = None,
        via_proxy: bool = False,
        proxy: str | None = None,
        on_started: Callable[[Recorder], None] | None = None,
        on_submitted: Callable[[Page], object] | None = None,
        close: Callable[[Page, Outcome], Artifacts] | None = None,
    ) -> RunEvidence:
        """The whole run, the one lifecycle every caller shares: subscribe the recorder, sign in (or
        return), judge, let the caller close the context into artifacts, and build the evidence."""
        recorder = self.start()
        self.on_submitted = on_submitted
        if on_started is not None:
            on_started(recorder)
        exchanges, after, outcome, run_notes = self.run()
        assert self.page is not None
        artifacts = close(self.page, outcome) if close is not None else Artifacts()
        return self.evidence(
            run_id=run_id,
            mode=mode,
            exchanges=exchanges,
            after=after,
            outcome=outcome,
            artifacts=artifacts,
            engine_version=engine_version,
            launch=launch,
            notes=[*(notes or []), *run_notes],
            ablation=ablation,
            via_proxy=via_proxy,
            proxy=proxy,
        )

    def evidence(
        self,
        *,
        run_id: str,
        mode: Mode,
        exchanges: list[Exchange],
        after: StateSnapshot,
        outcome: Outcome,
        artifacts: Artifacts,
        engine_version: str,
        launch: str,
        notes: list[str],
        ablation: str | None = None,
        via_proxy: bool = False,
        proxy: str | None = None,
    ) -> RunEvidence:
        """The run's evidence record."""
        assert self.recorder is not None and self.started_at is not None
        site = self.site
        api_key = site.flow == "api-key"
        hidden = engines.hidden_request_headers(
            self.engine, "http_credentials" in flow_for(site).context_options(site)
        )
        if hidden:
            notes = [*notes, engines.hidden_header_note(self.engine)]
        key_name = site.token.name or ("X-API-Key" if site.token.location == "header" else "api_key")
        return RunEvidence(
            run_id=run_id,
            site=site.name,
            engine=self.engine,
            engine_version=engine_version,
            launch=launch,
            mode=mode,
            ablation=ablation,  # type: ignore[arg-type]
            via_proxy=via_proxy,
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            expectations=Expectations(
                flow=site.flow,
                protected_url=self.redactor.text(site.target),
                start_url=self.redactor.text(site.url),
                audience=site.audience,
                issuer=site.issuer,
                api_key_name=key_name if api_key else None,
                api_key_location=site.token.location if api_key else None,
                credentials_configured=site.credentials.configured(),
                proxy=self.redactor.text(proxy) if proxy else None,
            ),
            exchanges=exchanges,
            before=self.recorder.before or StateSnapshot(taken="before"),
            after=after,
            jwts=self.jwts,
            console_errors=self.recorder.console_errors,
            page_errors=self.recorder.page_errors,
            outcome=outcome,
            artifacts=artifacts,
            cache_signal=engines.run_cache_signal(self.engine, self.recorder.cdp_ok),
            engine_notes=[*engines.engine_notes(self.engine, launch, site.flow), *notes],
            unanswerable_schemes=engines.unanswerable_schemes(self.engine, launch),
            hidden_request_headers=hidden,
            returning_visit=self.returning,
            login_ran=self.login_ran,
            login_trigger=self.login_trigger,
        )
