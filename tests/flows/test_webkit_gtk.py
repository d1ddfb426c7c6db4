"""WebKit without Playwright's build: Debian's WebKitGTK over WebDriver classic, against the lab.

Real WebKitGTK (WebKitWebDriver + loginprobe's shell under Xvfb) against real lab servers on 127.0.0.1.
Each WebKit session is a browser start: these tests keep to one check of two scenarios (fresh and
persisted) plus one returning visit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from loginprobe.config.loading import load_settings
from loginprobe.demo import LabSite, check_scenarios, lab_sites
from loginprobe.evidence import Engine, EngineStatus, RunEvidence
from loginprobe.flows.webkit_evidence import NOT_OBSERVABLE
from loginprobe.flows.webkit_launch import HOW
from loginprobe.pipeline import Outcome, run_check
from tests.conftest import require_engine
from tests.faults.servers import run_cli

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture(scope="module")
def webkit_check(
    engine_status: dict[Engine, EngineStatus], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[LabSite], Outcome, Path]]:
    """One check, WebKit only, of a healthy form login and of a changed password, fresh and persisted."""
    require_engine(engine_status, "webkit")
    base = tmp_path_factory.mktemp("webkit")
    with lab_sites(["control-form", "invalid-credentials"]) as sites:
        [(group, outcome)] = check_scenarios(
            sites,
            browsers=["webkit"],
            modes=["fresh", "persisted"],
            ablate=False,
            output=base / "reports",
            profiles_dir=base / "profiles",
        )
        yield group, outcome, base


def _run(outcome: Outcome, site: str, mode: str) -> RunEvidence:
    found = [r for r in outcome.report.runs if r.site == site and r.mode == mode and r.engine == "webkit"]
    assert found, (site, mode, outcome.report.skipped)
    return found[0]


def test_browsers_lists_webkit_gtk_with_version_and_how_it_runs(
    engine_status: dict[Engine, EngineStatus], tmp_path: Path
) -> None:
    require_engine(engine_status, "webkit")
    # When a CI script asks which engines can run here (no Playwright WebKit on this network)
    rows = {row["engine"]: row for row in json.loads(run_cli("browsers", "--json", cwd=tmp_path).stdout)}
    # Then WebKit is available through WebKitGTK, with the library's version and how it runs
    webkit = rows["webkit"]
    assert webkit["available"] and webkit["launch"] == HOW
    assert webkit["version"] and webkit["version"][0].isdigit()


def test_form_login_control_is_healthy_fresh_and_persisted(
    webkit_check: tuple[list[LabSite], Outcome, Path],
) -> None:
    _, outcome, _ = webkit_check
    # Given a healthy form login, checked in WebKit fresh and persisted (a first visit)
    verdicts = {v.site: v for v in outcome.report.verdicts}
    # Then the diagnosis is "none", and both runs reached the protected page
    assert verdicts["control-form"].primary == "none", verdicts["control-form"].summary
    for mode in ("fresh", "persisted"):
        run = _run(outcome, "control-form", mode)
        assert run.outcome.success, run.outcome.reason
        assert run.launch == HOW and run.engine_version[0].isdigit()
        # And the evidence says what WebKit over WebDriver could not show, and where the rest came from
        assert set(NOT_OBSERVABLE) <= set(run.not_observable)
        assert "exchanges" in run.evidence_sources and "cookies" in run.evidence_sources
        # The login's POST, its redirect and the protected page are in the resource log, in order
        methods = [(ex.method, ex.status) for ex in run.exchanges]
        assert ("POST", 303) in methods and methods[-1] == ("GET", 200), methods
        # And the session cookie the login set is in the jar after the run (HttpOnly as the site set it)
        session = [c for c in run.after.cookies if c.name == "session"]
        assert session and session[0].http_only


def test_wrong_password_is_diagnosed_invalid_credentials(
    webkit_check: tuple[list[LabSite], Outcome, Path],
) -> None:
    _, outcome, _ = webkit_check
    # Given a site whose password was changed on the server
    verdict = {v.site: v for v in outcome.report.verdicts}["invalid-credentials"]
    # Then WebKit's runs fail with a 401 and the diagnosis names the credentials
    assert verdict.primary == "invalid-credentials", verdict.summary
    for mode in ("fresh", "persisted"):
        run = _run(outcome, "invalid-credentials", mode)
        assert not run.outcome.success and run.outcome.status == 401, run.outcome.reason


def test_persisted_cookies_survive_into_a_returning_visit(
    webkit_check: tuple[list[LabSite], Outcome, Path],
) -> None:
    group, _, base = webkit_check
    form = next(item for item in group if item.site.name == "control-form")
    # Given the profile the first visit left (the check wrote it back)
    profile = base / "profiles" / "control-form" / "webkit"
    assert (profile / "cookies.sqlite").is_file()
    # When the same browser comes back the next day (a persisted run on that profile)
    settings = load_settings(
        None,
        sites=[form.site],
        browsers=["webkit"],
        modes=["persisted"],
        ablate=False,
        output=base / "reports-again",
        profiles_dir=base / "profiles",
    )
    again = run_check(settings)
    run = _run(again, "control-form", "persisted")
    # Then it started with yesterday's session cookie, opened the page without signing in, and got in
    assert "session" in [c.name for c in run.before.cookies]
    assert run.returning_visit and not run.login_ran, run.login_trigger
    assert run.outcome.success, run.outcome.reason
    assert [ex.method for ex in run.exchanges].count("POST") == 0
