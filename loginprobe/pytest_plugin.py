"""pytest plugin: login checks written as tests, on pytest-playwright's own browsers and contexts.

    def test_login(login_probe):
        result = login_probe("my-site")        # a site of --loginprobe-config, a Site, or a dict
        result.assert_ok()                      # fails with loginprobe's verdict

`pytest --browser chromium --browser firefox` compares engines; `--tracing retain-on-failure` and
`--output` behave as pytest-playwright users expect, because the context comes from its
`new_context` fixture. The verdict lands in the failure message, in the test report's sections and in
JUnit properties (`loginprobe_cause`, `loginprobe_summary`, `loginprobe_next_step`). At the end of the
session every file under `--output` is redacted of the secrets the probes used.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loginprobe.config.settings import Settings, Site, load_settings
from loginprobe.errors import LoginprobeError
from loginprobe.evidence import Artifacts, RunEvidence, SiteEvidence
from loginprobe.secrets import Redactor
from loginprobe.verdict import Verdict

_REDACTOR_KEY = pytest.StashKey[Redactor]()
_VERDICTS_KEY = pytest.StashKey[list[tuple[str, Verdict]]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("loginprobe", "loginprobe: explain 401s of scripted logins")
    group.addoption(
        "--loginprobe-config", default=None, help="loginprobe TOML config whose [[sites]] tests can name."
    )
    group.addoption(
        "--loginprobe-timeout", type=float, default=None, help="Seconds a login may take (default 30)."
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_REDACTOR_KEY] = Redactor()
    config.stash[_VERDICTS_KEY] = []
    config.addinivalue_line("markers", "loginprobe: a login check run by loginprobe")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What one login in the test's browser gave: the evidence and loginprobe's verdict."""

    evidence: RunEvidence
    verdict: Verdict

    @property
    def ok(self) -> bool:
        return self.evidence.outcome.success

    def explain(self) -> str:
        v = self.verdict
        lines = [
            f"{self.evidence.site} in {self.evidence.engine}: {self.evidence.outcome.reason}",
            f"loginprobe verdict: {v.primary} ({v.confidence:.0%}): {v.summary}",
        ]
        if v.next_step:
            lines.append(f"next step: {v.next_step}")
        lines.extend(f"  - [{f.cause}] {f.summary}" for f in v.findings[:6])
        return "\n".join(lines)

    def assert_ok(self) -> None:
        """Fail the test with the verdict when the login did not reach the protected resource."""
        if not self.ok:
            pytest.fail(self.explain(), pytrace=False)


@pytest.fixture(scope="session")
def loginprobe_settings(pytestconfig: pytest.Config) -> Settings:
    """Settings from --loginprobe-config (and LOGINPROBE_* / .env), as `loginprobe check` reads them."""
    config = pytestconfig.getoption("--loginprobe-config")
    timeout = pytestconfig.getoption("--loginprobe-timeout")
    try:
        return load_settings(Path(config) if config else None, timeout=timeout)
    except LoginprobeError as exc:
        raise pytest.UsageError(f"loginprobe: {exc}") from None


@pytest.fixture
def login_probe(
    new_context: Callable[..., Any],
    browser_name: str,
    browser: Any,
    loginprobe_settings: Settings,
    request: pytest.FixtureRequest,
    record_property: Callable[[str, object], None],
) -> Callable[..., ProbeResult]:
    """Run a site's login in a new context of pytest-playwright's browser and diagnose it."""
    from loginprobe.diagnose import diagnose
    from loginprobe.flows.base import flow_for
    from loginprobe.flows.probe import Probe

    redactor = request.config.stash[_REDACTOR_KEY]

    def resolve(site: str | Site | dict[str, Any]) -> Site:
        if isinstance(site, Site):
            return site
        if isinstance(site, dict):
            return Site(**site)
        for candidate in loginprobe_settings.sites:
            if candidate.name == site:
                return candidate
        known = ", ".join(s.name for s in loginprobe_settings.sites) or "none (pass --loginprobe-config)"
        raise pytest.UsageError(f"loginprobe: no site named {site!r}; configured: {known}")

    def run(site: str | Site | dict[str, Any]) -> ProbeResult:
        resolved = resolve(site)
        for secret in resolved.credentials.secrets():
            redactor.add(secret)
        if resolved.credentials.username and resolved.credentials.password:
            redactor.add_basic(
                resolved.credentials.username, resolved.credentials.password.get_secret_value()
            )
        context = new_context(**flow_for(resolved).context_options(resolved))
        probe = Probe(context, resolved, browser_name, redactor, loginprobe_settings.timeout, capture=False)  # type: ignore[arg-type]
        probe.start()
        exchanges, after, outcome, notes = probe.run()
        evidence = probe.evidence(
            run_id=f"{resolved.name}-{browser_name}-fresh",
            mode="fresh",
            exchanges=exchanges,
            after=after,
            outcome=outcome,
            artifacts=Artifacts(),
            engine_version=browser.version,
            launch="pytest-playwright",
            notes=notes,
        )
        verdict = diagnose(SiteEvidence(site=resolved.name, runs=[evidence]))
        record_property("loginprobe_cause", verdict.primary)
        record_property("loginprobe_summary", verdict.summary)
        record_property("loginprobe_next_step", verdict.next_step)
        request.node.stash.setdefault(_VERDICTS_KEY, []).append((resolved.name, verdict))
        request.config.stash[_VERDICTS_KEY].append((request.node.nodeid, verdict))
        return ProbeResult(evidence, verdict)

    return run


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    verdicts = item.stash.get(_VERDICTS_KEY, [])
    if report.when == "call" and verdicts:
        text = "\n".join(f"{site}: {v.primary} - {v.summary} Next: {v.next_step}" for site, v in verdicts)
        report.sections.append(("loginprobe verdict", text))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    failing = [(node, v) for node, v in config.stash.get(_VERDICTS_KEY, []) if v.primary != "none"]
    if failing:
        terminalreporter.section("loginprobe verdicts")
        for node, verdict in failing:
            terminalreporter.write_line(f"{node}: {verdict.primary}: {verdict.summary}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Redact pytest-playwright's traces and screenshots of every secret the probes used."""
    redactor = session.config.stash.get(_REDACTOR_KEY, None)
    try:
        output = session.config.getoption("--output")
    except ValueError:
        return  # pytest-playwright is not active; there is nothing of its to redact
    folder = Path(output)
    if redactor is None or not redactor.known() or not folder.is_dir():
        return
    from loginprobe.reports.redact import redact_artifacts

    redact_artifacts(folder, redactor)
