"""A bug reporter's browser, handed over as a storage state: the returning visit sees what they saw.

Given a user who signed in to the lab's dashboard in their own browser (plain Playwright, as a bug
reporter would, exporting `context.storage_state()`), when the server rotates the key that signs its
session cookies, then `loginprobe check --mode state` opens the dashboard with their cookie, is not
asked to sign in (the dashboard renders for anyone holding a cookie), and gets the 401 they got:
`stale-cookie`, and signing in again is what fixes it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from loginprobe.config.loading import load_settings
from loginprobe.lab.server import Lab
from loginprobe.pipeline import run_check

pytestmark = pytest.mark.browser


def _bug_reporters_state(lab: Lab, options: dict[str, object], path: Path) -> None:
    """Sign in by hand in a browser of our own and export its state, as a reporter would."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**options)  # type: ignore[arg-type]
        context = browser.new_context()
        page = context.new_page()
        page.goto(lab.app_url + "/login?next=/dashboard")
        page.fill("input[name=username]", lab.username)
        page.fill("input[type=password]", lab.password)
        page.locator("button[type=submit], input[type=submit]").first.click()
        page.wait_for_url("**/dashboard*")
        context.storage_state(path=str(path))
        browser.close()


def test_a_reporters_storage_state_is_a_returning_visit(
    tmp_path: Path, chromium_options: dict[str, object]
) -> None:
    state = tmp_path / "reporter-state.json"
    with Lab() as lab:
        with ThreadPoolExecutor(1) as pool:  # the sync API owns its thread
            pool.submit(_bug_reporters_state, lab, chromium_options, state).result()
        lab.apply(session_secret_rotated=True)
        settings = load_settings(
            None,
            sites=[
                {
                    "name": "reported",
                    "url": lab.app_url + "/login?next=/dashboard",
                    "app_url": lab.app_url + "/dashboard",
                    "protected_url": lab.app_url + "/api/session",
                    "flow": "form",
                    "credentials": {"username": lab.username, "password": lab.password},
                    "storage_state": str(state),
                }
            ],
            browsers=["chromium"],
            modes=["fresh", "state"],
            output=tmp_path / "reports",
            profiles_dir=tmp_path / "profiles",
        )
        outcome = run_check(settings)
    runs = {run.mode: run for run in outcome.report.runs if run.ablation is None}
    assert runs["fresh"].outcome.success
    returning = runs["state"]
    assert returning.returning_visit and not returning.login_ran
    assert not returning.outcome.success and returning.outcome.status == 401
    verdict = outcome.report.verdicts[0]
    assert verdict.primary == "stale-cookie", verdict.summary
    assert verdict.signing_in_again is not None and "yes in chromium" in verdict.signing_in_again
