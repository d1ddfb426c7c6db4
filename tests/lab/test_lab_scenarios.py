"""Every scenario builds a valid site and names known switches, and together they cover every cause."""

from __future__ import annotations

import pytest

from loginprobe.config.settings import Site
from loginprobe.lab.scenarios import CAUSES, SCENARIOS, Scenario
from loginprobe.lab.server import Lab
from loginprobe.lab.switches import Switches
from tests.lab.lab_http import fetch


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=list(SCENARIOS))
def test_scenario_is_well_formed(scenario: Scenario, lab: Lab) -> None:
    site = Site(name=scenario.name, **scenario.site(lab))
    assert site.flow in ("form", "basic", "digest", "bearer", "api-key", "oidc", "visit")
    assert scenario.cause in CAUSES
    assert set(scenario.modes) <= {"fresh", "persisted"}
    assert (scenario.cause == "none") == (scenario.modes == ())
    Switches(**scenario.probe)
    if scenario.seed is not None:
        Switches(**scenario.seed)
    assert scenario.description.endswith(".")
    # The configured credentials are the lab's own
    for secret in site.credentials.secrets():
        assert secret in lab.secrets()


def test_every_cause_has_a_scenario_and_the_big_three_have_several() -> None:
    causes = [s.cause for s in SCENARIOS.values()]
    assert set(causes) == set(CAUSES)
    for cause in ("stale-cache", "stale-cookie", "expired-token", "invalid-api-key", "cookie-blocked"):
        assert causes.count(cause) >= 2, cause
    controls = {s.name for s in SCENARIOS.values() if s.cause == "none"}
    assert {"control-form", "control-basic", "control-digest", "control-bearer", "control-oidc"} <= controls


def test_the_names_the_demo_uses_exist() -> None:
    demo = (
        "control-form",
        "control-oidc",
        "stale-cache-http",
        "stale-cookie-session-lost",
        "expired-token",
        "wrong-auth-scheme",
    )
    assert set(demo) <= set(SCENARIOS)


@pytest.mark.parametrize("scenario", SCENARIOS.values(), ids=list(SCENARIOS))
def test_pages_a_scenario_opens_exist_on_the_lab(scenario: Scenario, lab: Lab) -> None:
    # The app page and the start page a returning visit opens are real pages of the lab (a browser
    # without cookies is sent to sign in), and a `visit` site needs no credentials at all.
    site = Site(name=scenario.name, **scenario.site(lab))
    for url in (site.start_url, site.app_url):
        if url is not None:
            assert fetch(url).status in (200, 302), url
    if site.flow == "visit":
        assert site.credentials.configured() == [] and site.start_url is not None
