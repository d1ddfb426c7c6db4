"""The runner: drives each (site, engine, mode) through its flow, concurrently, and collects evidence.

Runs are grouped into lanes, one thread each with its own Playwright driver (the sync API is bound to
its thread). Fresh, state and transplanted-state runs of an engine share one browser launch in their
lane; persisted runs launch a persistent context on a copy of the profile. A launch failure or crash
in one lane becomes a `SkippedRun` with its reason and never touches the other lanes' results.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Request, sync_playwright
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from loginprobe.config.settings import Settings, Site
from loginprobe.evidence import (
    Ablation,
    Artifacts,
    Engine,
    EngineStatus,
    Exchange,
    Expectations,
    Mode,
    Outcome,
    RunEvidence,
    SkippedRun,
    StateSnapshot,
    origin_of,
)
from loginprobe.flows import engines, profiles
from loginprobe.flows.base import FlowFailed, flow_for
from loginprobe.flows.browsers import discover
from loginprobe.flows.engines import LaunchRecipe
from loginprobe.flows.recorder import Recorder
from loginprobe.secrets import Redactor

TRANSPLANTS: tuple[Ablation, ...] = ("only-cookies", "only-storage")


@dataclass(frozen=True, slots=True)
class RunSpec:
    """One run to perform."""

    site: Site
    engine: Engine
    mode: Mode
    ablation: Ablation | None = None
    via_proxy: bool = False

    @property
    def run_id(self) -> str:
        parts = [self.site.name, self.engine, self.mode]
        if self.ablation:
            parts.append(self.ablation)
        if self.via_proxy:
            parts.append("proxy")
        return "-".join(parts)

    @property
    def shares_browser(self) -> bool:
        """Runs in a plain context of the lane's one browser (not a persistent profile)."""
        return self.mode != "persisted" or self.ablation in TRANSPLANTS


@dataclass(slots=True)
class RunResult:
    spec: RunSpec
    evidence: RunEvidence | None = None
    skipped: SkippedRun | None = None
    infrastructure_error: bool = False


@dataclass(slots=True)
class _Lane:
    engine: Engine
    persistent: bool
    specs: list[RunSpec] = field(default_factory=list)


ProgressFn = Callable[[RunSpec, str], None]  # (spec, "start" | "done" | "skipped")


def _same_resource(url: str, target: str) -> bool:
    """Same origin and path; the query only counts when the target names one."""
    a, b = urlsplit(url), urlsplit(target)
    if (a.scheme, a.netloc, a.path or "/") != (b.scheme, b.netloc, b.path or "/"):
        return False
    return not b.query or a.query == b.query


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _is_crash(exc: PlaywrightError) -> bool:
    message = str(exc)
    return any(
        marker in message
        for marker in ("has been closed", "Target closed", "Browser closed", "Connection closed", "crashed")
    )


class Runner:
    """Runs specs in lanes; keeps what is needed for differential runs and profile updates."""

    def __init__(
        self,
        settings: Settings,
        redactor: Redactor,
        report_dir: Path,
        progress: ProgressFn | None = None,
    ) -> None:
        self.settings = settings
        self.redactor = redactor
        self.report_dir = report_dir
        self.engines: dict[Engine, EngineStatus] = {}
        self._recipes: dict[Engine, LaunchRecipe | None] = {}
        self.progress = progress or (lambda spec, event: None)
        self.workdir = Path(tempfile.mkdtemp(prefix="loginprobe-"))
        self.stop = threading.Event()
        self._lock = threading.Lock()
        # Raw (unredacted, in memory only) storage state of each profile before its persisted run,
        # for transplant runs (only-cookies / only-storage).
        self.profile_states: dict[tuple[str, Engine], dict[str, Any]] = {}
        self._pending_commits: list[tuple[Path, Path]] = []

    # -- planning ---------------------------------------------------------------------------
    def _lanes(self, specs: Iterable[RunSpec]) -> list[_Lane]:
        lanes: dict[tuple[Engine, bool], _Lane] = {}
        for spec in specs:
            key = (spec.engine, not spec.shares_browser)
            lanes.setdefault(key, _Lane(spec.engine, not spec.shares_browser)).specs.append(spec)
        result = list(lanes.values())
        # Spread long lanes over spare workers; each extra lane costs one more browser launch.
        while len(result) < self.settings.workers:
            longest = max(result, key=lambda lane: len(lane.specs), default=None)
            if longest is None or len(longest.specs) < 2:
                break
            half = len(longest.specs) // 2
            result.append(_Lane(longest.engine, longest.persistent, longest.specs[half:]))
            del longest.specs[half:]
        # Slow launches first (Firefox), so the pool's tail is short.
        result.sort(key=lambda lane: (lane.engine != "firefox", not lane.persistent))
        return result

    def run(self, specs: list[RunSpec]) -> list[RunResult]:
        """Run every spec; results come back in the order of `specs`."""
        results: dict[str, RunResult] = {}
        lanes = self._lanes(specs)
        with ThreadPoolExecutor(max_workers=self.settings.workers, thread_name_prefix="lane") as pool:
            for lane_results in pool.map(self._run_lane, lanes):
                for result in lane_results:
                    results[result.spec.run_id] = result
        return [results[spec.run_id] for spec in specs if spec.run_id in results]

    # -- lanes ------------------------------------------------------------------------------
    def _recipe(self, playwright: Playwright, engine: Engine) -> LaunchRecipe | None:
        """Discover an engine once per runner (lanes of the same engine share the answer)."""
        with self._lock:
            if engine not in self._recipes:
                status, recipe = discover(
                    playwright, engine, self.settings.executables.get(engine), self.settings.connect.get(engine)
                )
                self.engines[engine] = status
                self._recipes[engine] = recipe
            return self._recipes[engine]

    def _run_lane(self, lane: _Lane) -> list[RunResult]:
        out: list[RunResult] = []
        try:
            with sync_playwright() as playwright:
                recipe = self._recipe(playwright, lane.engine)
                if recipe is None:
                    reason = self.engines[lane.engine].reason or f"{lane.engine} is not available"
                    return [self._skip(spec, f"{lane.engine} unavailable: {reason}") for spec in lane.specs]
                browser: Browser | None = None
                for spec in lane.specs:
                    if self.stop.is_set():
                        out.append(self._skip(spec, "interrupted before this run started"))
                        continue
                    if spec.shares_browser and (browser is None or not browser.is_connected()):
                        try:
                            browser = self._launch(playwright, recipe)
                        except PlaywrightError as exc:
                            out.append(self._skip(spec, f"{lane.engine} failed to launch: {_first_line(exc)}", True))
                            browser = None
                            continue
                    self.progress(spec, "start")
                    result = self._guarded(playwright, recipe, spec, browser)
                    self.progress(spec, "done" if result.evidence else "skipped")
                    out.append(result)
                if browser is not None:
                    try:
                        browser.close()
                    except PlaywrightError:
                        pass  # the browser is already gone; nothing left to release
        except PlaywrightError as exc:  # the driver itself failed to start or died
            done = {r.spec.run_id for r in out}
            out.extend(
                self._skip(spec, f"Playwright driver failed: {_first_line(exc)}", True)
                for spec in lane.specs
                if spec.run_id not in done
            )
        return out

    def _skip(self, spec: RunSpec, reason: str, infrastructure: bool = False) -> RunResult:
        skipped = SkippedRun(site=spec.site.name, engine=spec.engine, mode=spec.mode, reason=reason)
        return RunResult(spec, skipped=skipped, infrastructure_error=infrastructure)

    def _launch(self, playwright: Playwright, recipe: LaunchRecipe) -> Browser:
        browser_type = getattr(playwright, recipe.engine)
        endpoint = self.settings.connect.get(recipe.engine)
        if endpoint:
            return browser_type.connect(endpoint)  # type: ignore[no-any-return]
        options = recipe.launch_options(proxy=self.settings.proxy is not None)
        return browser_type.launch(headless=self.settings.headless, **options)  # type: ignore[no-any-return]

    def _guarded(
        self, playwright: Playwright, recipe: LaunchRecipe, spec: RunSpec, browser: Browser | None
    ) -> RunResult:
        try:
            return RunResult(spec, evidence=self._run_one(playwright, recipe, spec, browser))
        except PlaywrightError as exc:
            if spec.mode == "persisted" and not spec.shares_browser and "launch" in str(exc).lower():
                return self._skip(spec, f"{spec.engine} failed to launch: {_first_line(exc)}", True)
            if _is_crash(exc):
                return self._skip(spec, f"{spec.engine} crashed or was closed during the run: {_first_line(exc)}", True)
            return self._skip(spec, f"{spec.engine} failed: {_first_line(exc)}", True)
        except _NotPossible as exc:
            return self._skip(spec, str(exc))

    # -- one run ----------------------------------------------------------------------------
    def _context_options(self, spec: RunSpec, run_dir: Path) -> dict[str, Any]:
        site = spec.site
        options: dict[str, Any] = dict(flow_for(site).context_options(site))
        options["ignore_https_errors"] = self.settings.ignore_https_errors
        if self.settings.capture:
            options["record_har_path"] = str(run_dir / "network.har")
            options["record_har_content"] = "embed"
        if spec.via_proxy and self.settings.proxy:
            proxy: dict[str, str] = {"server": self.settings.proxy}
            if spec.engine == "chromium":
                proxy["bypass"] = "<-loopback>"
            options["proxy"] = proxy
        return options

    def _open_context(
        self, playwright: Playwright, recipe: LaunchRecipe, spec: RunSpec, browser: Browser | None, run_dir: Path
    ) -> tuple[BrowserContext, list[str], Path | None]:
        """The context for this spec, notes about how it was prepared, and the profile copy used."""
        site, notes = spec.site, []
        options = self._context_options(spec, run_dir)
        if spec.shares_browser:
            assert browser is not None
            if spec.ablation in TRANSPLANTS:
                state = self.profile_states.get((site.name, spec.engine))
                if state is None:
                    raise _NotPossible("no profile state was captured to transplant")
                if spec.ablation == "only-cookies":
                    options["storage_state"] = {"cookies": state.get("cookies", []), "origins": []}
                    notes.append("fresh context given only the returning browser's cookies")
                else:
                    options["storage_state"] = {"cookies": [], "origins": state.get("origins", [])}
                    notes.append("fresh context given only the returning browser's localStorage")
            elif spec.mode == "state":
                if site.storage_state is None:
                    raise _NotPossible("mode 'state' needs the site's storage_state file")
                options["storage_state"] = str(site.storage_state)
            return browser.new_context(**options), notes, None
        if self.settings.connect.get(spec.engine):
            raise _NotPossible("a persisted profile cannot be opened on a remote browser server (--connect)")
        root = profiles.profile_root(self.settings, site, spec.engine)
        if profiles.exists(root):
            copy = profiles.working_copy(root, self.workdir)
        else:
            if spec.ablation is not None:
                raise _NotPossible(f"no persisted profile at {root} to take apart")
            copy = Path(tempfile.mkdtemp(prefix="profile-new-", dir=self.workdir))
            notes.append(f"no profile existed at {root}: this run created it by logging in (a first visit)")
            with self._lock:
                self._pending_commits.append((copy, root))
        if spec.ablation == "no-cache":
            removed = profiles.strip_cache(copy, spec.engine)
            notes.append("profile copy without HTTP cache, service workers and Cache API"
                         + (f" (removed {', '.join(removed)})" if removed else " (none was on disk)"))
        launch = recipe.launch_options(proxy=self.settings.proxy is not None)
        browser_type = getattr(playwright, spec.engine)
        context = browser_type.launch_persistent_context(
            str(copy), headless=self.settings.headless, **launch, **options
        )
        if spec.ablation == "no-cookies":
            context.clear_cookies()
            notes.append("profile copy with every cookie removed")
        return context, notes, copy

    def _run_one(
        self, playwright: Playwright, recipe: LaunchRecipe, spec: RunSpec, browser: Browser | None
    ) -> RunEvidence:
        site, settings = spec.site, self.settings
        run_dir = Path(tempfile.mkdtemp(prefix=f"{spec.run_id}-", dir=self.workdir))
        started = datetime.now(UTC)
        context, notes, copy = self._open_context(playwright, recipe, spec, browser, run_dir)
        version = browser.version if browser is not None else (context.browser.version if context.browser else "")
        timeout_ms = settings.timeout * 1000
        context.set_default_timeout(timeout_ms)
        context.set_default_navigation_timeout(timeout_ms)
        origins = sorted({origin_of(site.url), origin_of(site.target)})
        recorder = Recorder(
            context, engine=spec.engine, redactor=self.redactor, workdir=run_dir,
            capture=settings.capture, site_origins=origins,
        )
        recorder.start()
        if spec.mode == "persisted" and spec.ablation is None:
            with self._lock:
                self.profile_states[(site.name, spec.engine)] = dict(recorder.raw_state)
        page = context.pages[0] if context.pages else context.new_page()
        flow_error = self._perform(page, spec)
        page = self._live_page(context, page)
        self._ensure_protected_request(page, recorder, site)
        selector_ok = self._selector_visible(page, site)
        exchanges, after, jwts, recorder_notes = recorder.finish()
        outcome = self._outcome(site, exchanges, flow_error, selector_ok)
        artifacts = self._close(context, page, recorder, run_dir, outcome, spec)
        if copy is not None and settings.update_profile and spec.ablation is None and not spec.via_proxy:
            with self._lock:
                self._pending_commits.append((copy, profiles.profile_root(settings, site, spec.engine)))
        return RunEvidence(
            run_id=spec.run_id,
            site=site.name,
            engine=spec.engine,
            engine_version=version,
            launch=recipe.how if not settings.connect.get(spec.engine) else "remote (connect)",
            mode=spec.mode,
            ablation=spec.ablation,
            via_proxy=spec.via_proxy,
            started_at=started,
            finished_at=datetime.now(UTC),
            expectations=Expectations(
                flow=site.flow,
                protected_url=self.redactor.text(site.target),
                start_url=self.redactor.text(site.url),
                audience=site.audience,
                issuer=site.issuer,
                api_key_name=(site.token.name or ("X-API-Key" if site.token.location == "header" else "api_key"))
                if site.flow == "api-key" else None,
                api_key_location=site.token.location if site.flow == "api-key" else None,
                credentials_configured=site.credentials.configured(),
                proxy=self.redactor.text(settings.proxy) if spec.via_proxy and settings.proxy else None,
            ),
            exchanges=exchanges,
            before=recorder.before or StateSnapshot(taken="before"),
            after=after,
            jwts=jwts,
            console_errors=recorder.console_errors,
            page_errors=recorder.page_errors,
            outcome=outcome,
            artifacts=artifacts,
            cache_signal=engines.run_cache_signal(spec.engine, recorder.cdp_ok),
            engine_notes=[*engines.engine_notes(spec.engine, recipe.how, site.flow), *notes, *recorder_notes],
        )

    def _perform(self, page: Page, spec: RunSpec) -> str | None:
        """Run the flow; a failure of the login itself is returned as a reason, not raised."""
        try:
            flow_for(spec.site).login(page, spec.site)
        except FlowFailed as exc:
            return self.redactor.text(str(exc))
        except PlaywrightTimeout as exc:
            return self.redactor.text(f"timed out after {self.settings.timeout:g} s: {_first_line(exc)}")
        except PlaywrightError as exc:
            if _is_crash(exc):
                raise
            return self.redactor.text(f"the flow stopped: {_first_line(exc)}")
        return None

    @staticmethod
    def _live_page(context: BrowserContext, page: Page) -> Page:
        if not page.is_closed():
            return page
        open_pages = [p for p in context.pages if not p.is_closed()]
        return open_pages[-1] if open_pages else context.new_page()

    def _ensure_protected_request(self, page: Page, recorder: Recorder, site: Site) -> None:
        """If the flow never touched the protected resource, give the page a moment, then open it."""
        def seen() -> bool:
            return any(_same_resource(r.url, site.target) for r in recorder.requests)

        if seen():
            return
        try:
            page.wait_for_load_state("networkidle", timeout=3_000)
        except PlaywrightError:
            pass  # a page that never idles still gets its protected request below
        if seen():
            return
        try:
            page.goto(site.target)
        except PlaywrightError:
            pass  # Chromium raises on some 401s; the response (or failure) is in the record

    @staticmethod
    def _selector_visible(page: Page, site: Site) -> bool | None:
        if not site.success.selector:
            return None
        try:
            return page.locator(site.success.selector).first.is_visible()
        except PlaywrightError:
            return False

    def _outcome(
        self, site: Site, exchanges: list[Exchange], flow_error: str | None, selector_ok: bool | None
    ) -> Outcome:
        """Success is decided by the protected resource alone."""
        target = self.redactor.text(site.target)
        candidates = [ex for ex in exchanges if _same_resource(ex.url, target)]
        suffix = f" (the flow reported: {flow_error})" if flow_error else ""
        if not candidates:
            reason = f"the protected URL {target} was never requested{suffix}"
            return Outcome(success=False, reason=reason)
        final = candidates[-1]
        for _ in range(20):  # follow the redirect chain to its last hop
            following = next((ex for ex in exchanges if ex.redirected_from == final.id), None)
            if following is None:
                break
            final = following
        where = f"{final.method} {final.url}"
        if final.status is None:
            return Outcome(
                success=False, reason=f"{where} got no response: {final.failure or 'unknown error'}{suffix}",
                final_url=final.url, protected_exchange=final.id,
            )
        problems = []
        if final.status not in site.success.status:
            problems.append(f"answered {final.status}")
        if site.success.url_pattern:
            if not re.search(site.success.url_pattern, final.url):
                problems.append(f"ended at {final.url}, which does not match {site.success.url_pattern!r}")
        elif final.id != candidates[-1].id and not _same_resource(final.url, target):
            problems.append(f"was redirected to {final.url}")
        if selector_ok is False:
            problems.append(f"does not show {site.success.selector!r}")
        if problems:
            start = exchanges[candidates[-1].id] if candidates[-1].id < len(exchanges) else final
            return Outcome(
                success=False,
                status=final.status,
                reason=f"{start.method} {start.url} " + " and ".join(problems) + suffix,
                final_url=final.url,
                protected_exchange=final.id,
            )
        return Outcome(
            success=True, status=final.status, reason=f"{where} answered {final.status}",
            final_url=final.url, protected_exchange=final.id,
        )

    def _close(
        self, context: BrowserContext, page: Page, recorder: Recorder, run_dir: Path, outcome: Outcome, spec: RunSpec
    ) -> Artifacts:
        """Stop tracing, close (which writes the HAR), redact, and move artifacts into the report."""
        screenshot = None
        if self.settings.capture and not outcome.success:
            try:
                page.screenshot(path=str(run_dir / "failure.png"))
                screenshot = "failure.png"
            except PlaywrightError:
                pass  # a closed or crashed page has nothing to show
        trace = None
        if self.settings.capture:
            try:
                context.tracing.stop(path=str(run_dir / "trace.zip"))
                trace = "trace.zip"
            except PlaywrightError:
                pass  # tracing is lost with a crashed browser; the evidence is not
        try:
            context.close()
        except PlaywrightError:
            pass  # already closed by a crash
        har = "network.har" if (run_dir / "network.har").exists() else None
        return self._publish(run_dir, spec, trace, har, screenshot)

    def _publish(self, run_dir: Path, spec: RunSpec, trace: str | None, har: str | None, shot: str | None) -> Artifacts:
        """Redact in the private work folder, then move into the report folder."""
        from loginprobe.reports.redact import redact_artifacts

        files = [name for name in (trace, har, shot) if name]
        if not files:
            return Artifacts()
        staging = run_dir / "publish"
        staging.mkdir()
        for name in files:
            shutil.move(str(run_dir / name), staging / name)
        if self.redactor.enabled:
            redact_artifacts(staging, self.redactor)
        dest = self.report_dir / spec.run_id
        dest.mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.move(str(staging / name), dest / name)
        rel = Path(spec.run_id)
        return Artifacts(
            trace=str(rel / trace) if trace else None,
            har=str(rel / har) if har else None,
            screenshot=str(rel / shot) if shot else None,
        )

    # -- end --------------------------------------------------------------------------------
    def commit_profiles(self) -> list[Path]:
        """Write created (and, with --update-profile, updated) profiles back; returns their roots."""
        written = []
        for copy, root in self._pending_commits:
            if copy.exists():
                profiles.commit(copy, root)
                written.append(root)
        self._pending_commits.clear()
        return written

    def cleanup(self) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)


class _NotPossible(Exception):
    """This run cannot be done in this configuration (a skip with a reason, not an error)."""
