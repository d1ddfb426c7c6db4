"""Fixtures for the report tests: a factory-built report, and real Playwright artifacts of a local login."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loginprobe.report import Report
from tests.reports.report_factory import make_report
from tests.reports.reports_site import PASSWORD, login_site


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No CI variables leak in; fingerprint keys live in the test's own home."""
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def report() -> Report:
    return make_report()


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory, chromium_options: dict[str, Any]) -> Path:
    """A trace zip, a HAR and screenshots (PNG, and the runner's JPEG) of a real Chromium login
    (password, cookie, bearer, api key)."""
    from playwright.sync_api import sync_playwright

    from loginprobe.flows import screenshots

    out = tmp_path_factory.mktemp("recorded") / "shop-chromium-fresh"
    out.mkdir()
    with login_site() as site, sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_options)
        try:
            context = browser.new_context(
                record_har_path=str(out / "network.har"), record_har_content="embed"
            )
            context.tracing.start(screenshots=True, snapshots=True, sources=False)
            page = context.new_page()
            page.goto(f"{site.base_url}/login")
            page.fill("#username", "alice")
            page.fill("#password", PASSWORD)
            page.click("#submit")
            page.wait_for_selector("text=done 3")
            screenshots.after_submit(page, out)  # the runner's own JPEG, as report.html embeds it
            page.screenshot(path=str(out / "failure.png"))
            context.tracing.stop(path=str(out / "trace.zip"))
            context.close()
        finally:
            browser.close()
    return out


@pytest.fixture
def artifacts(recorded: Path, tmp_path: Path) -> Iterator[Path]:
    """A private copy of the recorded artifacts inside a report-like folder: `<folder>/<run_id>/...`."""
    folder = tmp_path / "report"
    shutil.copytree(recorded, folder / recorded.name)
    yield folder
