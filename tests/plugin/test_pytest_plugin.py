"""The pytest plugin, black-box: a generated suite uses `login_probe` with pytest-playwright's own
options (`--browser`, `--tracing`, `--output`, `--junitxml`) against a real lab, in a pytest subprocess."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from loginprobe.evidence import Engine, EngineStatus
from loginprobe.lab.scenarios import SCENARIOS
from loginprobe.lab.server import Lab
from loginprobe.reports import junit
from loginprobe.reports.redact import scan_for_secrets
from tests.conftest import require_engine

pytestmark = pytest.mark.browser

# What a user writes when Playwright's own builds may be missing: fall back on system browsers.
CONFTEST = """
import pytest

from loginprobe.pytest_plugin import local_launch_args


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, browser_type):
    return local_launch_args(browser_type, browser_type_launch_args)
"""

# Sites named as in the project's loginprobe config, which pytest finds without a flag.
TESTS = """
def test_healthy_login(login_probe):
    login_probe("healthy").assert_ok()


def test_rotated_password(login_probe):
    login_probe("broken").assert_ok()
"""


def _pyproject(sites: dict[str, dict[str, str]]) -> str:
    """A project's pyproject.toml whose [tool.loginprobe] names each site's password by variable."""
    tables = [
        f'[[tool.loginprobe.sites]]\nname = "{name}"\nurl = "{site["url"]}"\n'
        f'protected_url = "{site["protected_url"]}"\nflow = "form"\n'
        f'[tool.loginprobe.sites.credentials]\nusername = "{site["username"]}"\n'
        f'password_env = "{name.upper()}_PASSWORD"\n'
        for name, site in sites.items()
    ]
    return "\n".join(tables)


@pytest.fixture
def labs() -> Iterator[dict[str, Lab]]:
    """A healthy lab, and one whose server changed the password the site is configured with."""
    with Lab() as healthy, Lab() as broken:
        broken.apply(**SCENARIOS["invalid-credentials"].probe)
        yield {"healthy": healthy, "broken": broken}


def _properties(root: ET.Element, name: str) -> dict[str, str]:
    for case in root.iter("testcase"):
        if case.get("name") == name:
            return {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
    raise AssertionError(f"no testcase {name!r} in the JUnit XML")


def test_login_probe_in_every_engine(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    labs: dict[str, Lab],
    engine_status: dict[Engine, EngineStatus],
) -> None:
    require_engine(engine_status, "chromium")
    require_engine(engine_status, "firefox")
    # Given a suite with a healthy login and one whose password the server rotated, its sites in the
    # project's pyproject.toml and their passwords in the environment
    sites = {}
    for name, scenario in (("healthy", "control-form"), ("broken", "invalid-credentials")):
        site = SCENARIOS[scenario].site(labs[name])
        credentials = site["credentials"]
        monkeypatch.setenv(f"{name.upper()}_PASSWORD", credentials["password"])
        sites[name] = {**site, "username": credentials["username"]}
    pytester.makefile(".toml", pyproject=_pyproject(sites))
    monkeypatch.setenv("COLUMNS", "240")  # pytest cuts the short summary's message to the width
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_logins=TESTS)
    output, junit_xml = pytester.path / "artifacts", pytester.path / "junit.xml"

    # When pytest runs it in all three engines, keeping traces of failures
    result = pytester.runpytest_subprocess(
        *("--browser", "chromium", "--browser", "firefox", "--browser", "webkit"),
        *("--tracing", "retain-on-failure", "--output", str(output), "--junitxml", str(junit_xml)),
        # The plugin itself warns of nothing (record_property would, under JUnit's xunit2);
        # pytest-playwright 0.10's base_url fallback has a deprecation warning of its own.
        *("-W", "error::pytest.PytestWarning", "-W", "ignore::pytest.PytestRemovedIn10Warning"),
        *("-p", "no:cacheprovider", "-rfs"),
        timeout=300,
    )

    # Then (found without --loginprobe-config) the healthy login passes and the broken one fails
    text = result.stdout.str()
    # (pytest-playwright drives Playwright's own WebKit only; WebKitGTK over WebDriver is skipped)
    webkit = engine_status["webkit"]
    playwright_webkit = webkit.available and "WebDriver" not in (webkit.launch or "")
    if playwright_webkit:
        result.assert_outcomes(passed=3, failed=3)
    else:
        result.assert_outcomes(passed=2, failed=2, skipped=2)
    # ... its failure message starting with `cause-id: summary`, in the failure and the short summary
    for engine in ("chromium", "firefox"):
        assert f"broken in {engine}:" in text
        failure = text.split(f"test_rotated_password[{engine}] _", 1)[1].lstrip("_ \n")
        assert failure.startswith("invalid-credentials: "), failure[:300]
        summary = f"FAILED test_logins.py::test_rotated_password[{engine}] - Failed: invalid-credentials: "
        assert summary in text, text
    # ... said once: no section or session summary repeats what the failure says
    assert "- loginprobe verdict -" not in text and "= loginprobe verdicts =" not in text, text
    # ... and in the JUnit XML properties
    root = ET.parse(junit_xml).getroot()
    for engine in ("chromium", "firefox"):
        failing = _properties(root, f"test_rotated_password[{engine}]")
        # the names `loginprobe check` writes to its junit.xml
        assert failing[junit.CAUSE] == failing["loginprobe_cause"] == "invalid-credentials"
        assert failing[junit.NEXT_STEP] and failing[junit.SUMMARY]
        assert failing[junit.RUN_ID] == f"broken-{engine}-fresh"
        assert _properties(root, f"test_healthy_login[{engine}]")[junit.CAUSE] == "none"
    # WebKit, where it is not installed, is skipped with the reason
    if not playwright_webkit:
        assert "webkit unavailable: " in text
    # A trace is kept for each failing test only, and no lab secret is left in the output folder
    traces = sorted(p.relative_to(output).parts[0] for p in output.rglob("trace*.zip"))
    assert len(traces) == (3 if playwright_webkit else 2), traces
    assert all("rotated-password" in folder for folder in traces), traces
    secrets = labs["healthy"].secrets() + labs["broken"].secrets()
    assert scan_for_secrets(output, secrets) == []


def test_unknown_site_name_names_the_configured_ones(pytester: pytest.Pytester) -> None:
    # Given a test that names a site the project's config does not define
    config = '[[sites]]\nname = "shop"\nurl = "http://127.0.0.1:9/"\nflow = "form"\n'
    pytester.makefile(".toml", loginprobe=config)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile("def test_a(login_probe):\n    login_probe('nowhere')\n")
    # When it runs (no browser is needed to see the mistake)
    result = pytester.runpytest_subprocess("--browser", "chromium", "-p", "no:cacheprovider", timeout=120)
    # Then pytest says which names exist
    assert "no site named 'nowhere'; loginprobe.toml has: shop" in result.stdout.str(), result.stdout.str()
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
