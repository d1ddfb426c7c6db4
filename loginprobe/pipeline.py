"""The pipeline, end to end: settings -> planned runs -> evidence -> differential runs -> verdicts -> report.

Each stage only knows its neighbours: flows produce `RunEvidence`, `diagnose` turns a site's evidence
into a `Verdict`, and `reports` renders the `Report`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from loginprobe.config.settings import Settings
from loginprobe.errors import ConfigError, OutputError
from loginprobe.evidence import ENGINES, Ablation, EngineStatus, RunEvidence, SkippedRun
from loginprobe.flows.base import flow_for
from loginprobe.flows.lanes import TRANSPLANTS, RunSpec
from loginprobe.flows.runner import ProgressFn, Runner, RunResult
from loginprobe.report import Report
from loginprobe.secrets import Redactor

PERSISTED_ABLATIONS: tuple[Ablation, ...] = ("no-cache", "no-cookies")


@dataclass(slots=True)
class Outcome:
    """What the CLI needs after a check: the report, where it is, and how it went."""

    report: Report
    folder: Path
    infrastructure_errors: list[str] = field(default_factory=list)  # one line per run skipped by a fault
    unreachable: list[str] = field(default_factory=list)  # one line per site that never answered

    @property
    def exit_code(self) -> int:
        """0 every login succeeded, 1 a login failed, 3 loginprobe could not do its job, 130 Ctrl-C."""
        runs = [r for r in self.report.runs if r.ablation is None]
        if self.report.interrupted:
            return 130  # the shell's code for SIGINT: a partial report is never a verdict
        if self.unreachable:
            return 3
        if any(not r.outcome.success for r in runs):
            return 1
        if self.infrastructure_errors or not runs or self.report.interrupted:
            return 3
        return 0


def plan(settings: Settings) -> list[RunSpec]:
    """Every site x engine x mode (x direct/proxy), limited to this shard."""
    specs = []
    for site in settings.sites:
        for engine in settings.browsers:
            for mode in settings.modes:
                if mode == "state" and site.storage_state is None:
                    continue
                specs.append(RunSpec(site, engine, mode))
                if settings.proxy:
                    specs.append(RunSpec(site, engine, mode, via_proxy=True))
    if settings.shard:
        index, total = (int(part) for part in settings.shard.split("/"))
        keys = sorted({(s.site.name, s.engine) for s in specs})
        mine = {key for n, key in enumerate(keys) if n % total == index - 1}
        specs = [s for s in specs if (s.site.name, s.engine) in mine]
    return specs


def runnable_plan(settings: Settings) -> list[RunSpec]:
    """The plan, or a `ConfigError` saying why it holds nothing to run (exit 2, before any browser)."""
    specs = plan(settings)
    if specs:
        return specs
    if settings.shard:
        whole = plan(settings.model_copy(update={"shard": None}))
        if whole:
            pairs = len({(s.site.name, s.engine) for s in whole})
            total = settings.shard.split("/")[1]
            raise ConfigError(
                f"--shard {settings.shard} has nothing to run: the plan has {pairs} site x browser "
                f"pair{'s' if pairs != 1 else ''} for {total} shards"
            )
    if set(settings.modes) == {"state"}:
        raise ConfigError(
            "nothing to run: mode 'state' needs a storage_state file for the site "
            "(--storage-state, or storage_state in its [[sites]] entry)"
        )
    raise ConfigError("nothing to run: no site x browser x mode combination was planned")


def plan_ablations(settings: Settings, results: list[RunResult]) -> list[RunSpec]:
    """Differential runs for each engine whose returning browser failed where a fresh one succeeded."""
    if not settings.ablate:
        return []
    by_key = {
        (r.spec.site.name, r.spec.engine, r.spec.mode): r.evidence
        for r in results
        if r.evidence is not None and not r.spec.via_proxy
    }
    specs: list[RunSpec] = []
    for result in results:
        spec, evidence = result.spec, result.evidence
        if evidence is None or spec.via_proxy or spec.mode == "fresh" or evidence.outcome.success:
            continue
        fresh = by_key.get((spec.site.name, spec.engine, "fresh"))
        if fresh is None or not fresh.outcome.success:
            continue
        if spec.mode == "persisted" and evidence.returning_visit:
            ablations: tuple[Ablation, ...] = (*PERSISTED_ABLATIONS, *TRANSPLANTS)
            if not evidence.login_ran:  # a visit that signed in already answers "does a new login heal it?"
                ablations = (*ablations, "relogin")
            specs.extend(RunSpec(spec.site, spec.engine, "persisted", ablation) for ablation in ablations)
        elif spec.mode == "state" and evidence.returning_visit and not evidence.login_ran:
            # A reporter's storage state: the same state, signing in again (their workaround?).
            specs.append(RunSpec(spec.site, spec.engine, "state", "relogin"))
    return specs


def make_report_dir(output: Path, site_names: list[str]) -> Path:
    """A new folder `<output>/<UTC time>-<site>`; never reuses one (two runs at once do not collide)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    label = site_names[0] if len(site_names) == 1 else f"{len(site_names)}-sites"
    if output.exists() and not output.is_dir():  # mkdir(exist_ok=True) would say "File exists"
        raise OutputError(f"cannot write reports to {output}: it is not a directory")
    try:
        output.mkdir(parents=True, exist_ok=True)
        for attempt in range(1000):
            folder = output / (f"{stamp}-{label}" + (f"-{attempt + 1}" if attempt else ""))
            try:
                folder.mkdir()
            except FileExistsError:
                continue
            return folder
    except OSError as exc:
        raise OutputError(f"cannot write reports to {output}: {exc.strerror or exc}") from None
    raise OutputError(f"cannot find a free report folder name under {output}")


def _diagnose(report: Report) -> Report:
    from loginprobe.diagnose import diagnose

    verdicts = [diagnose(report.site_evidence(site)) for site in report.sites]
    return report.model_copy(update={"verdicts": verdicts})


def run_check(
    settings: Settings,
    progress: ProgressFn | None = None,
    stop: threading.Event | None = None,
    on_report: Callable[[Report, Path], None] | None = None,
) -> Outcome:
    """Run the whole pipeline and write the report folder."""
    if not settings.sites:
        raise ConfigError("no site to check: give --url (and --flow) or a --config with [[sites]]")
    for site in settings.sites:
        flow_for(site)  # a broken user script is a config error before any browser starts
    folder = make_report_dir(settings.output, [s.name for s in settings.sites])
    redactor = Redactor(settings.secrets(), enabled=settings.redact)
    for site in settings.sites:
        if site.credentials.username and site.credentials.password:
            redactor.add_basic(site.credentials.username, site.credentials.password.get_secret_value())
    runner = Runner(settings, redactor, folder, progress)
    if stop is not None:
        runner.stop = stop
    interrupted = False
    results: list[RunResult] = []
    specs = runnable_plan(settings)
    try:
        results = runner.run(specs)  # Ctrl-C inside returns what finished, with runner.stop set
        extra = plan_ablations(settings, results)
        if extra and not runner.stop.is_set():
            results += runner.run(extra)
        if not runner.stop.is_set():  # an interrupted first visit would leave a half-made profile
            runner.commit_profiles()
    except KeyboardInterrupt:
        interrupted = True
        runner.stop.set()
    finally:
        runner.cleanup()
    interrupted = interrupted or runner.stop.is_set()
    runs: list[RunEvidence] = [r.evidence for r in results if r.evidence is not None]
    skipped: list[SkippedRun] = [r.skipped for r in results if r.skipped is not None]
    done = {r.spec.run_id for r in results if not r.interrupted}
    missing = [s.run_id for s in specs if s.run_id not in done]
    engines = [
        runner.engines.get(engine)
        or EngineStatus(engine=engine, available=False, reason="not requested (--browser)")
        for engine in ENGINES
    ]
    report = Report(
        created_at=datetime.now(UTC),
        sites=[s.name for s in settings.sites],
        engines=engines,
        runs=runs,
        skipped=skipped,
        redacted=settings.redact,
        interrupted=interrupted,
        missing=missing,
    )
    report = _diagnose(report)
    unreachable = {site: line for site in report.sites if (line := _unreachable(site, runs, settings))}
    if unreachable:
        # No HTTP response means no 401 to explain: these sites get no cause verdict, their own outcome.
        report = report.model_copy(
            update={
                "verdicts": [v for v in report.verdicts if v.site not in unreachable],
                "unreachable": unreachable,
            }
        )
    from loginprobe.reports import render_all
    from loginprobe.reports.redact import redact_artifacts

    try:
        render_all(report, folder)
        if settings.redact:
            # A last pass with every secret the whole check discovered (a cookie first seen in one
            # run may sit in another run's trace).
            redact_artifacts(folder, redactor)
    except OSError as exc:
        raise OutputError(f"cannot write the report in {folder}: {exc.strerror or exc}") from None
    if on_report is not None:
        on_report(report, folder)
    return Outcome(
        report=report,
        folder=folder,
        infrastructure_errors=[
            f"{s.site}/{s.engine}/{s.mode} skipped: {s.reason}"
            for r in results
            if r.infrastructure_error and (s := r.skipped)
        ],
        unreachable=[f"{site}: {line}" for site, line in unreachable.items()],
    )


# How a browser says it never got an HTTP response, in plain words (Chromium net::ERR_*, Firefox NS_*).
_UNREACHABLE_KINDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("REFUSED",), "the connection was refused"),
    (("NAME_NOT_RESOLVED", "UNKNOWN_HOST", "NAME_RESOLUTION"), "the host name does not resolve"),
    (("UNSAFE_PORT", "PORT_ACCESS_NOT_ALLOWED"), "the browser refuses to connect to an unsafe port"),
    (("CERT", "SSL", "TLS", "SEC_ERROR", "PKIX"), "the TLS connection failed"),
    (("TIMED_OUT", "NET_TIMEOUT"), "the connection timed out"),
    (("ADDRESS_UNREACHABLE", "INTERNET_DISCONNECTED", "CONNECTION_RESET"), "the network failed"),
)


def unreachable_kind(failure: str) -> str | None:
    """The plain-words reason a request got no HTTP response, from the browser's error text."""
    upper = failure.upper()
    for markers, kind in _UNREACHABLE_KINDS:
        if any(marker in upper for marker in markers):
            return kind
    return None


def _unreachable(site: str, runs: list[RunEvidence], settings: Settings) -> str | None:
    """One line when no run of `site` got any HTTP response and the network refused at least one request.

    A request still pending when the run ended (a server that accepts and never answers) is a
    timed-out login, not an unreachable site, so it does not count here.
    """
    site_runs = [r for r in runs if r.site == site and r.ablation is None]
    if not site_runs or any(ex.status is not None for r in site_runs for ex in r.exchanges):
        return None
    failed = [ex for r in site_runs for ex in r.exchanges if ex.failure]
    if not failed or any(not any(ex.failure for ex in r.exchanges) for r in site_runs):
        return None
    url, failure = failed[0].url, failed[0].failure or ""
    kind = unreachable_kind(failure)
    hint = ""
    if kind == "the TLS connection failed" and not settings.ignore_https_errors:
        hint = " (a certificate problem: --ignore-https-errors accepts it)"
    said = f"{kind} ({failure})" if kind else failure
    return f"{url} gave no HTTP response in any browser: {said}{hint}"
