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

This module runs a lane (profiles, one session per run, the run's evidence assembled). Its rooms:
flows/webkit_launch.py finds and starts the processes, flows/webkit_page.py drives one run's page,
flows/webkit_evidence.py turns the shell's log into evidence with the rules every engine shares.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loginprobe.config.settings import Settings
from loginprobe.evidence import (
    Expectations,
    Outcome,
    RunEvidence,
    StateSnapshot,
    StorageArea,
    origin_of,
)
from loginprobe.flows import profiles, realm
from loginprobe.flows.engines import LaunchRecipe
from loginprobe.flows.lanes import SIGN_IN_AGAIN
from loginprobe.flows.outcome import judge
from loginprobe.flows.visit import CHALLENGE_FLOWS
from loginprobe.flows.webdriver import Driver, WebDriverError
from loginprobe.flows.webkit_evidence import (
    EVIDENCE_SOURCES,
    NOT_OBSERVABLE,
    EvidenceBuilder,
    after_snapshot,
    merge_cookies,
    read_cookie_db,
)
from loginprobe.flows.webkit_launch import SHELL, webdriver_service
from loginprobe.flows.webkit_page import POLL_S, ResourceLog, WebKitRun
from loginprobe.flows.webkit_scripts import OBSERVER_JS, PAGE_STATE_JS

if TYPE_CHECKING:
    from loginprobe.flows.lanes import RunSpec
    from loginprobe.flows.runner import Runner, RunResult

# WebKit's disk cache (and localStorage) write their records about 0.8 s after a load (measured on
# 2.50.6); a browser closed sooner forgets them, so a profile that is kept waits this long after the
# last response, and until the cache folder stops changing, at most CACHE_FLUSH_MAX_S.
CACHE_WRITE_DELAY_S = 1.5
CACHE_FLUSH_MAX_S = 4.0


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
        returning = spec.ablation not in SIGN_IN_AGAIN  # as the runner: relogin and no-cookies sign in
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
    run = WebKitRun(session, site, log, settings.timeout, returning=returning, jar_empty=not raw_before)
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
    raw_after = merge_cookies(read_cookie_db(data_dir), last_cookies)
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
    after = after_snapshot(builder, raw_after, page_state)
    server_date = next((ex.server_date for ex in reversed(exchanges) if ex.server_date), None)
    builder.state_jwts(raw_before, known_before, " before the run")
    builder.state_jwts(raw_after, {page_state.get("origin", ""): page_state.get("local") or {}}, "")
    jwts = [j.model_copy(update={"reference_time": j.reference_time or server_date}) for j in builder.jwts]
    outcome: Outcome = judge(site, exchanges, flow_error, None, redactor, settings.timeout)
    # As in every engine (flows/probe.py): refused Basic/Digest credentials tried at the parent paths,
    # and any refused credential again where no cache has a copy; Python's client, not the browser.
    exchanges = exchanges + realm.probe_realms(site, exchanges, redactor, settings.timeout)
    exchanges = exchanges + realm.probe_cache(site, exchanges, redactor, settings.timeout)
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
