"""The runner: drives each (site, engine, mode) through its flow, concurrently, and collects evidence.

Runs are grouped into lanes, one thread each with its own Playwright driver (the sync API is bound to
its thread). Fresh, state and transplanted-state runs of an engine share one browser launch in their
lane; persisted runs launch a persistent context on a copy of the profile. A launch failure or crash
in one lane becomes a `SkippedRun` with its reason and never touches the other lanes' results.

Over 400 lines: the lanes' lifecycle (launch, contexts, blank profiles, publishing, profile
commits) shares the runner's locks and pending state; lane planning is flows/lanes.py, one run's
lifecycle flows/probe.py.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, Page, Playwright
from playwright.sync_api import Error as PlaywrightError

from loginprobe.config.settings import Settings
from loginprobe.errors import BrowserUnavailable
from loginprobe.evidence import (
    Artifacts,
    Engine,
    EngineStatus,
    Outcome,
    RunEvidence,
    SkippedRun,
)
from loginprobe.flows import profiles, screenshots, watchdog
from loginprobe.flows.base import flow_for
from loginprobe.flows.browsers import discover
from loginprobe.flows.engines import LaunchRecipe
from loginprobe.flows.lanes import SIGN_IN_AGAIN, TRANSPLANTS, Lane, RunSpec, plan_lanes
from loginprobe.flows.probe import Probe, first_line, is_crash
from loginprobe.flows.recorder import Recorder
from loginprobe.flows.remote import connect_browser
from loginprobe.secrets import Redactor

# After Ctrl-C, how long lanes get to notice their closed browsers and hand back what they finished.
STOP_GRACE_S = 10.0
BLANK_PROFILE_ENGINES: tuple[Engine, ...] = ("firefox",)
BLANK_PROFILE_MIN_VISITS = 3  # below this, starting the blank profile costs more than it saves


@dataclass(slots=True)
class RunResult:
    spec: RunSpec
    evidence: RunEvidence | None = None
    skipped: SkippedRun | None = None
    infrastructure_error: bool = False
    interrupted: bool = False  # never ran (or never finished) because of Ctrl-C


# (spec, "start" | "done" | "skipped", the result of a finished run)
ProgressFn = Callable[[RunSpec, str, RunResult | None], None]


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
        self.progress = progress or (lambda spec, event, result: None)
        self.workdir = Path(tempfile.mkdtemp(prefix="loginprobe-"))
        self.stop = threading.Event()
        self._lock = threading.Lock()
        # Raw (unredacted, in memory only) storage state of each profile before its persisted run,
        # for transplant runs (only-cookies / only-storage).
        self.profile_states: dict[tuple[str, Engine], dict[str, Any]] = {}
        self._pending_commits: list[tuple[Path, Path]] = []
        # Blank profiles started once, copied for first visits (see _first_visit_profile).
        self._blank: dict[Engine, Path | None] = {}
        self._blank_lock = threading.Lock()
        self._first_visits: dict[Engine, int] = {}

    # -- planning ---------------------------------------------------------------------------
    def _lanes(self, specs: Iterable[RunSpec]) -> list[Lane]:
        return plan_lanes(specs, self.settings.workers)

    def run(self, specs: list[RunSpec]) -> list[RunResult]:
        """Run every spec; results come back in the order of `specs`.

        Ctrl-C (KeyboardInterrupt, which only the main thread receives) sets `stop`, closes the
        browsers and returns what the lanes finished within `STOP_GRACE_S`; the caller sees `stop` set.
        """
        results: dict[str, RunResult] = {}
        for spec in specs:
            root = profiles.profile_root(self.settings, spec.site, spec.engine)
            if not spec.shares_browser and spec.ablation is None and not profiles.exists(root):
                self._first_visits[spec.engine] = self._first_visits.get(spec.engine, 0) + 1
        lanes = self._lanes(specs)
        # The processes this batch starts (one driver per lane, its browsers) and the watchdog over
        # its runs; the batch as a whole ends by its ceiling, computed from the plan.
        self.processes = watchdog.Processes()
        self.expired = threading.Event()
        self.ceiling_s = watchdog.ceiling(
            [len(lane.specs) for lane in lanes], self.settings.workers, self.settings.timeout
        )
        pool = ThreadPoolExecutor(max_workers=self.settings.workers, thread_name_prefix="lane")
        futures: list[Future[list[RunResult]]] = [pool.submit(self._run_lane, lane) for lane in lanes]
        try:
            _, pending = wait(futures, timeout=self.ceiling_s)
            if pending:
                # Past the ceiling: every browser goes, the lanes record what they had; lanes still
                # stuck after a grace lose their drivers too.
                self.expired.set()
                self.processes.kill_all_browsers()
                _, pending = wait(futures, timeout=watchdog.KILL_GRACE_S)
                if pending:
                    self.processes.kill_all()
                    wait(futures, timeout=watchdog.KILL_GRACE_S)
        except KeyboardInterrupt:
            self.stop.set()
            _close_browsers(self.processes)
            try:
                wait(futures, timeout=STOP_GRACE_S)
            except KeyboardInterrupt:
                pass  # a second Ctrl-C: stop waiting and report what is finished
        finally:
            # Lanes that have not started are cancelled; a lane still stuck after the grace period is
            # left behind (its browsers were killed) rather than holding up the report.
            pool.shutdown(wait=False, cancel_futures=True)
            self.processes.close()
        for lane, future in zip(lanes, futures, strict=True):
            if self.stop.is_set() and (not future.done() or future.cancelled() or future.exception()):
                continue  # a lane torn down by Ctrl-C; its specs are reported missing
            if future.done() and not future.cancelled() and future.exception() is None:
                lane_results = future.result()
            else:  # the ceiling passed with this lane stuck (or it failed after its browsers went)
                lane_results = []
            done = {result.spec.run_id for result in lane_results}
            lane_results += [
                self._skip(spec, self._ceiling_reason(), True)
                for spec in lane.specs
                if spec.run_id not in done
            ]
            for result in lane_results:
                results[result.spec.run_id] = result
        return [results[spec.run_id] for spec in specs if spec.run_id in results]

    def _ceiling_reason(self) -> str:
        return (
            f"timed out: the check reached its ceiling of {self.ceiling_s:.0f} s before this run ended "
            "(its browser was killed)"
        )

    # -- lanes ------------------------------------------------------------------------------
    def _recipe(self, playwright: Playwright, engine: Engine) -> LaunchRecipe | None:
        """Discover an engine once per runner (lanes of the same engine share the answer)."""
        with self._lock:
            if engine not in self._recipes:
                status, recipe = discover(
                    playwright,
                    engine,
                    self.settings.executables.get(engine),
                    self.settings.connect.get(engine),
                )
                self.engines[engine] = status
                self._recipes[engine] = recipe
            return self._recipes[engine]

    def _run_lane(self, lane: Lane) -> list[RunResult]:
        out: list[RunResult] = []
        try:
            with self.processes.playwright() as (playwright, driver):
                recipe = self._recipe(playwright, lane.engine)
                if recipe is None:
                    reason = self.engines[lane.engine].reason or f"{lane.engine} is not available"
                    return [self._skip(spec, f"{lane.engine} unavailable: {reason}") for spec in lane.specs]
                # WebKit without Playwright's build: WebKitGTK over WebDriver runs the lane (webkit_gtk.py).
                from loginprobe.flows import webkit_gtk, webkit_launch

                if webkit_launch.is_webdriver_recipe(recipe):
                    return webkit_gtk.run_lane(self, lane.specs, recipe)
                browser: Browser | None = None
                for n, spec in enumerate(lane.specs):
                    if browser is not None and not any(s.shares_browser for s in lane.specs[n:]):
                        _close_quietly(browser)  # only own-profile launches are left in this lane
                        browser = None
                    if self.stop.is_set():
                        out.append(self._interrupted(spec, "interrupted before this run started"))
                        continue
                    if self.expired.is_set():
                        out.append(self._skip(spec, self._ceiling_reason(), True))
                        continue
                    if spec.shares_browser and (browser is None or not browser.is_connected()):
                        try:
                            with self.processes.watch(driver, watchdog.LANE_START_S, f"{lane.engine} launch"):
                                browser = self._launch(playwright, recipe)
                        except (BrowserUnavailable, PlaywrightError) as exc:
                            # BrowserUnavailable: --connect's server unreachable, or another version
                            why = (
                                str(exc)
                                if isinstance(exc, BrowserUnavailable)
                                else f"{lane.engine} failed to launch: {first_line(exc)}"
                            )
                            out.append(self._skip(spec, why, True))
                            self.progress(spec, "skipped", out[-1])  # the CI log says why it never started
                            browser = None
                            continue
                    if self.stop.is_set():  # Ctrl-C came while the browser was launching
                        out.append(self._interrupted(spec, "interrupted before this run started"))
                        continue
                    self.progress(spec, "start", None)
                    result = self._guarded(playwright, recipe, spec, browser, driver)
                    self.progress(spec, "done" if result.evidence else "skipped", result)
                    out.append(result)
                if browser is not None:
                    _close_quietly(browser)
        except PlaywrightError as exc:  # the driver itself failed to start or died
            done = {r.spec.run_id for r in out}
            out.extend(
                self._interrupted(spec, "interrupted (the browser was closed)")
                if self.stop.is_set()  # a terminal's Ctrl-C also reaches the driver, which then exits
                else self._skip(spec, self._ceiling_reason(), True)
                if self.expired.is_set()
                else self._skip(spec, f"Playwright driver failed: {first_line(exc)}", True)
                for spec in lane.specs
                if spec.run_id not in done
            )
        return out

    def _skip(self, spec: RunSpec, reason: str, infrastructure: bool = False) -> RunResult:
        skipped = SkippedRun(site=spec.site.name, engine=spec.engine, mode=spec.mode, reason=reason)
        return RunResult(spec, skipped=skipped, infrastructure_error=infrastructure)

    def _interrupted(self, spec: RunSpec, reason: str) -> RunResult:
        result = self._skip(spec, reason)
        result.interrupted = True
        return result

    def _launch(self, playwright: Playwright, recipe: LaunchRecipe) -> Browser:
        browser_type = getattr(playwright, recipe.engine)
        options = recipe.launch_options(proxy=self.settings.proxy is not None)
        endpoint = self.settings.connect.get(recipe.engine)
        if endpoint:
            # The server launches the browser, from these options (an executable is a path there).
            return connect_browser(browser_type, endpoint, {"headless": self.settings.headless, **options})
        return browser_type.launch(headless=self.settings.headless, **options)  # type: ignore[no-any-return]

    def _guarded(
        self,
        playwright: Playwright,
        recipe: LaunchRecipe,
        spec: RunSpec,
        browser: Browser | None,
        driver: watchdog.Driver | None = None,
    ) -> RunResult:
        """One run, under the watchdog: past its budget its browser is killed and it is recorded as
        timed out, with whatever evidence it still returned."""
        budget = watchdog.run_budget(self.settings.timeout, launches=not spec.shares_browser)
        if driver is None:
            return self._attempt(playwright, recipe, spec, browser)
        with self.processes.watch(driver, budget, spec.run_id) as watch:
            result = self._attempt(playwright, recipe, spec, browser)
        if not watch.fired or result.interrupted:
            return result
        reason = (
            f"timed out: the run did not end within {budget:g} s (its timeout of {self.settings.timeout:g} s "
            "plus a grace); loginprobe killed its browser"
        )
        if result.evidence is not None:
            outcome = result.evidence.outcome
            update = {"success": False, "reason": f"{reason} ({outcome.reason})"}
            timed_out = outcome.model_copy(update=update)
            return RunResult(spec, evidence=result.evidence.model_copy(update={"outcome": timed_out}))
        return self._skip(spec, reason, True)

    def _attempt(
        self, playwright: Playwright, recipe: LaunchRecipe, spec: RunSpec, browser: Browser | None
    ) -> RunResult:
        try:
            evidence = self._run_one(playwright, recipe, spec, browser)
            if self.stop.is_set():
                # Ctrl-C closed the browser while this run was going: flows swallow some of the
                # resulting errors, so what it recorded would read as a timeout, which it was not.
                return self._interrupted(spec, "interrupted during this run (the browser was closed)")
            return RunResult(spec, evidence=evidence)
        except PlaywrightError as exc:
            if self.stop.is_set():  # Ctrl-C closed the browser under this run: not a crash
                return self._interrupted(spec, "interrupted during this run (the browser was closed)")
            if spec.mode == "persisted" and not spec.shares_browser and "launch" in str(exc).lower():
                return self._skip(spec, f"{spec.engine} failed to launch: {first_line(exc)}", True)
            if is_crash(exc):
                return self._skip(
                    spec, f"{spec.engine} crashed or was closed during the run: {first_line(exc)}", True
                )
            return self._skip(spec, f"{spec.engine} failed: {first_line(exc)}", True)
        except _NotPossible as exc:
            return self._skip(spec, str(exc))
        except Exception as exc:
            return self._skip(
                spec, f"loginprobe failed on this run ({type(exc).__name__}: {exc}); please report it", True
            )

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
        self,
        playwright: Playwright,
        recipe: LaunchRecipe,
        spec: RunSpec,
        browser: Browser | None,
        run_dir: Path,
    ) -> tuple[BrowserContext, list[str], Path | None, bool]:
        """The context for this spec, notes about how it was prepared, the profile copy used, and
        whether the run is a returning visit (stored state, signing in only if the site asks)."""
        site, notes = spec.site, []
        # "relogin" signs in again on the same profile; "no-cookies" is the manual fix "clear the
        # cookies and sign in again". The other differential runs return, as the visit they vary did.
        returning = spec.mode != "fresh" and spec.ablation not in SIGN_IN_AGAIN
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
            return browser.new_context(**options), notes, None, returning
        if self.settings.connect.get(spec.engine):
            raise _NotPossible("a persisted profile cannot be opened on a remote browser server (--connect)")
        root = profiles.profile_root(self.settings, site, spec.engine)
        if profiles.exists(root):
            copy = profiles.working_copy(root, self.workdir)
        else:
            if spec.ablation is not None:
                raise _NotPossible(f"no persisted profile at {root} to take apart")
            copy = self._first_visit_profile(playwright, recipe)
            returning = False
            notes.append(f"no profile existed at {root}: this run created it by logging in (a first visit)")
            with self._lock:
                self._pending_commits.append((copy, root))
        if spec.ablation == "no-cache":
            removed = profiles.strip_cache(copy, spec.engine)
            notes.append(
                "profile copy without HTTP cache, service workers and Cache API"
                + (f" (removed {', '.join(removed)})" if removed else " (none was on disk)")
            )
        launch = recipe.launch_options(proxy=self.settings.proxy is not None)
        browser_type = getattr(playwright, spec.engine)
        context = browser_type.launch_persistent_context(
            str(copy), headless=self.settings.headless, **launch, **options
        )
        if spec.ablation == "no-cookies":
            context.clear_cookies()
            notes.append("profile copy with every cookie removed, then signing in again")
        elif spec.ablation == "relogin":
            notes.append("profile copy, signing in again before opening the protected resource")
        return context, notes, copy, returning

    def _first_visit_profile(self, playwright: Playwright, recipe: LaunchRecipe) -> Path:
        """An empty profile folder for a persisted run's first visit.

        Firefox's first start on an empty folder costs seconds of CPU (it builds the profile). When
        several first visits of Firefox are planned, one blank profile is started once (no page
        visited, nothing stored) and each first visit gets a copy of it: the site sees the same
        empty browser, the launch is cheaper.
        """
        copy = Path(tempfile.mkdtemp(prefix="profile-new-", dir=self.workdir))
        engine = recipe.engine
        if (
            engine not in BLANK_PROFILE_ENGINES
            or self._first_visits.get(engine, 0) < BLANK_PROFILE_MIN_VISITS
        ):
            return copy
        with self._blank_lock:
            if engine not in self._blank:
                self._blank[engine] = self._start_blank(playwright, recipe)
            blank = self._blank[engine]
        if blank is not None:
            shutil.copytree(blank, copy, symlinks=True, ignore=profiles.ignore_locks, dirs_exist_ok=True)
        return copy

    def _start_blank(self, playwright: Playwright, recipe: LaunchRecipe) -> Path | None:
        folder = Path(tempfile.mkdtemp(prefix=f"blank-{recipe.engine}-", dir=self.workdir))
        try:
            browser_type = getattr(playwright, recipe.engine)
            browser_type.launch_persistent_context(
                str(folder), headless=self.settings.headless, **recipe.launch_options()
            ).close()
        except PlaywrightError:
            return None  # first visits then start from empty folders, as without this shortcut
        return folder

    def _run_one(
        self, playwright: Playwright, recipe: LaunchRecipe, spec: RunSpec, browser: Browser | None
    ) -> RunEvidence:
        site, settings = spec.site, self.settings
        run_dir = Path(tempfile.mkdtemp(prefix=f"{spec.run_id}-", dir=self.workdir))
        context, notes, copy, returning = self._open_context(playwright, recipe, spec, browser, run_dir)
        if browser is not None:
            version = browser.version
        else:
            version = context.browser.version if context.browser is not None else ""
        self._record_version(spec.engine, version)
        probe = Probe(
            context,
            site,
            spec.engine,
            self.redactor,
            settings.timeout,
            settings.capture,
            returning=returning,
            landing_hint=profiles.landing(copy) if copy is not None else None,
        )

        def keep_profile_state(recorder: Recorder) -> None:
            if spec.mode == "persisted" and spec.ablation is None:
                with self._lock:
                    self.profile_states[(site.name, spec.engine)] = dict(recorder.raw_state)

        evidence = probe.perform(
            run_id=spec.run_id,
            mode=spec.mode,
            engine_version=version,
            launch=recipe.how,
            notes=notes,
            ablation=spec.ablation,
            via_proxy=spec.via_proxy,
            proxy=settings.proxy if spec.via_proxy else None,
            on_started=keep_profile_state,
            on_submitted=(lambda page: screenshots.after_submit(page, run_dir)) if settings.capture else None,
            close=lambda page, outcome: self._close(context, page, outcome, run_dir, spec),
        )
        if copy is not None and probe.landing_url and evidence.outcome.success:
            profiles.remember_landing(copy, probe.landing_url)
        if copy is not None and settings.update_profile and spec.ablation is None and not spec.via_proxy:
            with self._lock:
                self._pending_commits.append((copy, profiles.profile_root(settings, site, spec.engine)))
        return evidence

    def _record_version(self, engine: Engine, version: str) -> None:
        with self._lock:
            status = self.engines.get(engine)
            if status is not None and not status.version and version:
                self.engines[engine] = status.model_copy(update={"version": version})

    def _close(
        self, context: BrowserContext, page: Page, outcome: Outcome, run_dir: Path, spec: RunSpec
    ) -> Artifacts:
        """Stop tracing, close (which writes the HAR), redact, and move artifacts into the report."""
        screenshot = None
        if self.settings.capture and not outcome.success:
            screenshot = screenshots.at_end(page, run_dir)
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
        submitted = run_dir / screenshots.AFTER_SUBMIT
        after_submit = None
        if submitted.exists():
            if outcome.success:
                submitted.unlink()  # only a failure's form message is worth the disk and the report's size
            else:
                after_submit = screenshots.AFTER_SUBMIT
        return self._publish(run_dir, spec, trace, har, screenshot, after_submit)

    def _publish(
        self,
        run_dir: Path,
        spec: RunSpec,
        trace: str | None,
        har: str | None,
        shot: str | None,
        after_submit: str | None = None,
    ) -> Artifacts:
        """Redact in the private work folder, then move into the report folder."""
        from loginprobe.reports.redact import redact_artifacts

        files = [name for name in (trace, har, shot, after_submit) if name]
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
            screenshot_after_submit=str(rel / after_submit) if after_submit else None,
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


def _close_quietly(browser: Browser) -> None:
    try:
        browser.close()
    except PlaywrightError:
        pass  # the browser is already gone; nothing left to release


def _close_browsers(processes: watchdog.Processes) -> None:
    """Kill the browsers of every lane, from any thread (Ctrl-C).

    The sync API is bound to each lane's thread, so the main thread cannot call `browser.close()`.
    The browsers are killed through the driver processes loginprobe started (psutil, every
    platform); each lane's pending call then fails at once and the lane reports its runs.
    """
    processes.kill_all_browsers()


class _NotPossible(Exception):
    """This run cannot be done in this configuration (a skip with a reason, not an error)."""
