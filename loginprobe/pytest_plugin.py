"""pytest plugin: login checks written as tests, on pytest-playwright's own browsers and contexts.

    def test_login(login_probe):
        result = login_probe("my-site")        # a site of the loginprobe config, a Site, or a dict
        result.assert_ok()                      # fails with "cause-id: summary" and the evidence

The config is found as `loginprobe check` finds it: `--loginprobe-config`, else the ini key
`loginprobe_config` (relative to the ini file), else `loginprobe.toml`, else the `[tool.loginprobe]`
table of `pyproject.toml`, in the directory pytest was started in, then in its rootdir.

`pytest --browser chromium --browser firefox` compares engines; `--tracing retain-on-failure` and
`--output` behave as pytest-playwright users expect, because the context comes from its
`new_context` fixture. The verdict lands in the failure message, in the test report's sections and in
JUnit properties (`loginprobe_cause`, `loginprobe_summary`, `loginprobe_next_step`, `loginprobe_run_id`:
the names `loginprobe check` writes to junit.xml). At the end of the
session every file under `--output` is redacted of the secrets the probes used (and the cookies and
tokens they saw). An engine that is not installed (WebKit on Debian) is skipped with the reason.

Where Playwright's own browsers are not installed, let pytest-playwright launch the system ones:

    # conftest.py
    @pytest.fixture(scope="session")
    def browser_type_launch_args(browser_type_launch_args, browser_type):
        return local_launch_args(browser_type, browser_type_launch_args)
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserType

from loginprobe.config.loading import discover_config, load_settings
from loginprobe.config.settings import CONFIG_FILE, PYPROJECT, Settings, Site
from loginprobe.errors import LoginprobeError
from loginprobe.evidence import ENGINES, RunEvidence, SiteEvidence, is_engine
from loginprobe.secrets import Redactor
from loginprobe.verdict import Verdict

_REDACTOR_KEY = pytest.StashKey[Redactor]()
_VERDICTS_KEY = pytest.StashKey[list[tuple[str, Verdict]]]()
_TOLD_KEY = pytest.StashKey[set[tuple[str, int]]]()  # (test, verdict) pairs a failure message showed
_SETTINGS_KEY = pytest.StashKey["tuple[Path | None, Settings] | LoginprobeError"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("loginprobe", "loginprobe: explain 401s of scripted logins")
    group.addoption(
        "--loginprobe-config", default=None, help="loginprobe TOML config whose [[sites]] tests can name."
    )
    group.addoption(
        "--loginprobe-timeout", type=float, default=None, help="Seconds a login may take (default 30)."
    )
    parser.addini(
        "loginprobe_config",
        "loginprobe TOML config (relative to the ini file) used without --loginprobe-config.",
        type="string",
        default="",
    )


def config_file(config: pytest.Config) -> tuple[Path, str] | None:
    """The loginprobe config of a test session and where it was named: --loginprobe-config, else the ini
    key, else what `loginprobe check` discovers in the invocation directory, then in the rootdir."""
    start = config.invocation_params.dir
    given = config.getoption("--loginprobe-config")
    if given:
        return start / given, "--loginprobe-config"
    ini = config.getini("loginprobe_config")
    if ini:
        return (config.inipath.parent if config.inipath else config.rootpath) / ini, "loginprobe_config"
    for folder in dict.fromkeys((start, config.rootpath)):
        found = discover_config(folder)
        if found is not None:
            return found, "config"
    return None


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
        """The verdict first (`cause-id: summary`, what a CI's one-line failure view shows), then the run."""
        v = self.verdict
        lines = [
            f"{v.primary}: {v.summary}",
            f"{self.evidence.site} in {self.evidence.engine}: {self.evidence.outcome.reason}",
            f"confidence {v.confidence:.0%}",
        ]
        if v.next_step:
            lines.append(f"next step: {v.next_step}")
        # The summary already quotes the leading finding; list the others.
        lines.extend(f"  - [{f.cause}] {f.summary}" for f in v.findings[:6] if f.summary not in v.summary)
        return "\n".join(lines)

    def assert_ok(self) -> None:
        """Fail the test with the verdict when the login did not reach the protected resource."""
        if not self.ok:
            pytest.fail(self.explain(), pytrace=False)


def local_launch_args(browser_type: BrowserType, launch_args: dict[str, Any]) -> dict[str, Any]:
    """pytest-playwright launch arguments that fall back on a system browser (as `loginprobe check`).

    Playwright's own build is preferred when installed; an explicit `executable_path` or `channel`
    (`--browser-channel`) is left alone. An engine found nowhere keeps its arguments: `login_probe`
    skips it with the reason.
    """
    from loginprobe.flows.engines import find_recipe

    engine = browser_type.name
    if not is_engine(engine) or launch_args.get("executable_path") or launch_args.get("channel"):
        return launch_args
    found = find_recipe(engine, browser_type.executable_path)
    if isinstance(found, str) or "webdriver" in found.options:
        return launch_args  # WebKitGTK over WebDriver is no Playwright browser: `login_probe` skips it
    merged = {**found.options, **launch_args}
    if "args" in found.options and "args" in launch_args:
        merged["args"] = [*found.options["args"], *launch_args["args"]]
    return merged


@pytest.fixture(scope="session")
def loginprobe_engine_unavailable(
    browser_type: BrowserType,
    browser_type_launch_args: dict[str, Any],
    connect_options: dict[str, Any] | None,
) -> str | None:
    """Why this session's engine cannot run here, or None (then a launch failure is a real error)."""
    from loginprobe.flows.engines import find_recipe

    if (
        connect_options
        or browser_type_launch_args.get("executable_path")
        or browser_type_launch_args.get("channel")
    ):
        return None  # the user chose the browser; a failure to launch it must show, not be skipped
    engine = browser_type.name
    if not is_engine(engine):
        return f"loginprobe drives {', '.join(ENGINES)}, not {engine}"
    found = find_recipe(engine, browser_type.executable_path)
    if isinstance(found, str):
        return found
    if "webdriver" in found.options:
        # `loginprobe check` runs WebKitGTK over WebDriver; pytest-playwright needs Playwright's WebKit.
        return "only WebKitGTK over WebDriver is here; pytest-playwright needs Playwright's WebKit"
    return None


@pytest.fixture(scope="session")
def loginprobe_config_file(pytestconfig: pytest.Config) -> Path | None:
    """The loginprobe config file this session reads (see `config_file`), or None."""
    return _loaded(pytestconfig)[0]


@pytest.fixture(scope="session")
def loginprobe_settings(pytestconfig: pytest.Config) -> Settings:
    """Settings from the session's config file (and LOGINPROBE_* / .env), as `loginprobe check` reads them."""
    return _loaded(pytestconfig)[1]


def _loaded(config: pytest.Config) -> tuple[Path | None, Settings]:
    """Find and read the config once per session; a broken one fails each test with its one line."""
    if _SETTINGS_KEY not in config.stash:
        try:
            found = config_file(config)
            timeout = config.getoption("--loginprobe-timeout")
            path, label = found if found is not None else (None, "config")
            config.stash[_SETTINGS_KEY] = (path, load_settings(path, label=label, timeout=timeout))
        except LoginprobeError as exc:
            config.stash[_SETTINGS_KEY] = exc
    loaded = config.stash[_SETTINGS_KEY]
    if isinstance(loaded, LoginprobeError):
        # Outside the except block, so pytest shows the line alone, without the chained exception.
        pytest.fail(f"loginprobe: {loaded}", pytrace=False)
    return loaded


@pytest.fixture
def login_probe(
    browser_name: str,
    loginprobe_engine_unavailable: str | None,
    loginprobe_settings: Settings,
    loginprobe_config_file: Path | None,
    request: pytest.FixtureRequest,
) -> Callable[..., ProbeResult]:
    """Run a site's login in a new context of pytest-playwright's browser and diagnose it."""
    from loginprobe.diagnose import diagnose
    from loginprobe.flows.base import flow_for
    from loginprobe.flows.probe import Probe
    from loginprobe.reports.junit import verdict_properties

    if loginprobe_engine_unavailable is not None:
        pytest.skip(f"{browser_name} unavailable: {loginprobe_engine_unavailable}")
    if not is_engine(browser_name):  # a browser given through connect_options is still named by engine
        raise pytest.UsageError(f"loginprobe: drives {', '.join(ENGINES)}, not {browser_name}")
    engine = browser_name
    redactor = request.config.stash[_REDACTOR_KEY]

    def resolve(site: str | Site | dict[str, Any]) -> Site:
        if isinstance(site, Site):
            return site
        if isinstance(site, dict):
            return Site(**site)
        for candidate in loginprobe_settings.sites:
            if candidate.name == site:
                return candidate
        if loginprobe_config_file is None:
            where = (
                f"no config found (--loginprobe-config, ini loginprobe_config, {CONFIG_FILE}, "
                f"or [tool.loginprobe] in {PYPROJECT})"
            )
        else:
            known = ", ".join(s.name for s in loginprobe_settings.sites) or "none"
            where = f"{loginprobe_config_file.name} has: {known}"
        pytest.fail(f"loginprobe: no site named {site!r}; {where}", pytrace=False)

    def run(site: str | Site | dict[str, Any]) -> ProbeResult:
        resolved = resolve(site)
        # Requested only now: an engine that is not installed is skipped, and a site name that is
        # not configured fails, before a browser starts.
        new_context: Callable[..., Any] = request.getfixturevalue("new_context")
        browser = request.getfixturevalue("browser")
        for secret in resolved.credentials.secrets():
            redactor.add(secret)
        if resolved.credentials.username and resolved.credentials.password:
            redactor.add_basic(
                resolved.credentials.username, resolved.credentials.password.get_secret_value()
            )
        context = new_context(**flow_for(resolved).context_options(resolved))
        probe = Probe(context, resolved, engine, redactor, loginprobe_settings.timeout, capture=False)
        evidence = probe.perform(
            run_id=f"{resolved.name}-{browser_name}-fresh",
            mode="fresh",
            engine_version=browser.version,
            launch="pytest-playwright",
        )
        verdict = diagnose(SiteEvidence(site=resolved.name, runs=[evidence]))
        # Straight into user_properties (what JUnit XML writes as <properties>): the
        # record_property fixture warns under the default junit_family xunit2, and suites run
        # with warnings as errors.
        properties = verdict_properties(verdict.primary, verdict.summary, verdict.next_step, evidence.run_id)
        request.node.user_properties.extend(properties.items())
        request.node.stash.setdefault(_VERDICTS_KEY, []).append((resolved.name, verdict))
        request.config.stash[_VERDICTS_KEY].append((request.node.nodeid, verdict))
        return ProbeResult(evidence, verdict)

    return run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    verdicts = item.stash.get(_VERDICTS_KEY, [])
    if report.when == "call" and verdicts:
        # A verdict is said once: a failure that already starts with it (assert_ok) gets no section,
        # and no line in the session's summary either.
        told = report.longreprtext if report.failed else ""
        untold = [(site, v) for site, v in verdicts if f"{v.primary}: {v.summary}" not in told]
        said = item.config.stash.setdefault(_TOLD_KEY, set())
        said.update((item.nodeid, id(v)) for site, v in verdicts if (site, v) not in untold)
        if untold:
            text = "\n".join(f"{site}: {v.primary}: {v.summary} Next: {v.next_step}" for site, v in untold)
            report.sections.append(("loginprobe verdict", text))
    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    told = config.stash.get(_TOLD_KEY, set())
    failing = [
        (node, v)
        for node, v in config.stash.get(_VERDICTS_KEY, [])
        if v.primary != "none" and (node, id(v)) not in told
    ]
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
