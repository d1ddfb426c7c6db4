"""The pytest plugin, black-box: a generated suite uses `login_probe` with pytest-playwright's own
options (`--browser`, `--tracing`, `--output`, `--junitxml`) against a real lab, in a pytest subprocess."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from loginprobe.evidence import Engine, EngineStatus
from loginprobe.lab.scenarios import SCENARIOS
from loginprobe.lab.server import Lab
from loginprobe.reports.redact import scan_for_secrets
from tests.conftest import require_engine

pytestmark = pytest.mark.browser

# What a user writes when Playwright's own builds may be missing: fall back on system browsers.
CONFTEST = """
import json
from pathlib import Path

import pytest

from loginprobe.pytest_plugin import local_launch_args

SITES = json.loads((Path(__file__).parent / "sites.json").read_text())


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, browser_type):
    return local_launch_args(browser_type, browser_type_launch_args)


@pytest.fixture
def sites():
    return SITES
"""

TESTS = """
def test_healthy_login(login_probe, sites):
    login_probe(sites["healthy"]).assert_ok()


def test_rotated_password(login_probe, sites):
    login_probe(sites["broken"]).assert_ok()
"""


@pytest.fixture
def labs() -> Iterator[dict[str, Lab]]:
    """A healthy lab, and one whose server changed the password the site is configured with."""
    with Lab() as healthy, Lab() as broken:
        broken.apply(**SCENARIOS["invalid-credentials"].probe)
        yield {"healthy": healthy, "broken": broken}


def _properties(junit: ET.Element, name: str) -> dict[str, str]:
    for case in junit.iter("testcase"):
        if case.get("name") == name:
            return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
    raise AssertionError(f"no testcase {name!r} in the JUnit XML")


def test_login_probe_in_every_engine(
    pytester: pytest.Pytester, labs: dict[str, Lab], engine_status: dict[Engine, EngineStatus]
) -> None:
    require_engine(engine_status, "chromium")
    require_engine(engine_status, "firefox")
    # Given a suite with a healthy login and one whose password the server rotated
    sites = {
        "healthy": {"name": "healthy", **SCENARIOS["control-form"].site(labs["healthy"])},
        "broken": {"name": "broken", **SCENARIOS["invalid-credentials"].site(labs["broken"])},
    }
    pytester.makefile(".json", sites=json.dumps(sites))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_logins=TESTS)
    output, junit = pytester.path / "artifacts", pytester.path / "junit.xml"

    # When pytest runs it in all three engines, keeping traces of failures
    result = pytester.runpytest_subprocess(
        *("--browser", "chromium", "--browser", "firefox", "--browser", "webkit"),
        *("--tracing", "retain-on-failure", "--output", str(output), "--junitxml", str(junit)),
        # The plugin itself warns of nothing (record_property would, under JUnit's xunit2);
        # pytest-playwright 0.10's base_url fallback has a deprecation warning of its own.
        *("-W", "error::pytest.PytestWarning", "-W", "ignore::pytest.PytestRemovedIn10Warning"),
        *("-p", "no:cacheprovider", "-rs"),
        timeout=300,
    )

    # Then the healthy login passes and the broken one fails in both engines
    text = result.stdout.str()
    # (pytest-playwright drives Playwright's own WebKit only; WebKitGTK over WebDriver is skipped)
    webkit = engine_status["webkit"]
    playwright_webkit = webkit.available and "WebDriver" not in (webkit.launch or "")
    if playwright_webkit:
        result.assert_outcomes(passed=3, failed=3)
    else:
        result.assert_outcomes(passed=2, failed=2, skipped=2)
    # ... failing with loginprobe's verdict in the failure text
    for engine in ("chromium", "firefox"):
        assert f"broken in {engine}:" in text
    assert text.count("loginprobe verdict: invalid-credentials") >= 2, text
    # ... and in the JUnit XML properties
    root = ET.parse(junit).getroot()
    for engine in ("chromium", "firefox"):
        failing = _properties(root, f"test_rotated_password[{engine}]")
        assert failing["loginprobe_cause"] == "invalid-credentials"
        assert failing["loginprobe_next_step"]
        assert _properties(root, f"test_healthy_login[{engine}]")["loginprobe_cause"] == "none"
    # WebKit, where it is not installed, is skipped with the reason
    if not playwright_webkit:
        assert "webkit unavailable: " in text
    # A trace is kept for each failing test only, and no lab secret is left in the output folder
    traces = sorted(p.relative_to(output).parts[0] for p in output.rglob("trace*.zip"))
    assert len(traces) == (3 if playwright_webkit else 2), traces
    assert all("rotated-password" in folder for folder in traces), traces
    secrets = labs["healthy"].secrets() + labs["broken"].secrets()
    assert scan_for_secrets(output, secrets) == []


def test_unknown_site_name_is_a_usage_error(pytester: pytest.Pytester) -> None:
    # Given a test that names a site no --loginprobe-config defines
    pytester.makefile(".json", sites="{}")
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("def test_a(login_probe):\n    login_probe('nowhere')\n")
    # When it runs (no browser is needed to see the mistake)
    result = pytester.runpytest_subprocess("--browser", "chromium", "-p", "no:cacheprovider", timeout=120)
    # Then pytest says which names exist
    assert "no site named 'nowhere'" in result.stdout.str() + result.stderr.str()
    assert result.ret != 0


def test_the_example_module_collects_with_the_example_config(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # examples/test_login_example.py names sites of config/examples/lab-like.toml
    root = Path(__file__).parents[2]
    for name in ("LAB_PASSWORD", "LAB_TOKEN", "LAB_API_KEY"):
        monkeypatch.setenv(name, f"example-{name.lower()}")
    pytester.makepyfile(test_login_example=(root / "examples" / "test_login_example.py").read_text())
    result = pytester.runpytest_subprocess(
        "--collect-only",
        "-q",
        "--browser",
        "chromium",
        "--browser",
        "firefox",
        "--loginprobe-config",
        str(root / "config" / "examples" / "lab-like.toml"),
        "-p",
        "no:cacheprovider",
        timeout=120,
    )
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    assert "10 tests collected" in result.stdout.str()
