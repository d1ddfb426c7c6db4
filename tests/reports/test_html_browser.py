"""report.html opened in headless Chromium from a file:// URL, as a person would open it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loginprobe.reports import render_all
from tests.reports.report_factory import make_report

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def system_chromium(chromium_options: dict[str, Any]) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(**chromium_options)
        yield launched
        launched.close()


def test_report_html_shows_matrix_verdict_timeline_and_unavailable_webkit(
    system_chromium: object, tmp_path: Path
) -> None:
    render_all(make_report(), tmp_path)
    page = system_chromium.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto((tmp_path / "report.html").as_uri())

    # The matrix: one cell per site x engine x mode, coloured by outcome, webkit with its reason.
    failing = page.locator('td.cell[data-site="shop"][data-engine="chromium"][data-mode="persisted"]')
    assert failing.get_attribute("data-state") == "fail"
    assert "fail 401" in failing.inner_text()
    assert failing.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 235, 233)"
    webkit = page.locator('td.cell[data-site="shop"][data-engine="webkit"][data-mode="fresh"]')
    assert webkit.get_attribute("data-state") == "unavailable"
    assert "WebKit exists only as Playwright's build" in webkit.inner_text()
    assert page.locator("td.cell").count() == 12

    # The verdict, with its findings citing the exchange they point to.
    verdict = page.locator('.verdict[data-site="shop"]')
    assert verdict.get_attribute("data-primary") == "stale-cookie"
    assert "Clear the profile's cookies" in verdict.inner_text()
    assert "85%" in verdict.inner_text()

    # The protected request of the failing run is highlighted in its timeline.
    row = page.locator("#ex-shop-chromium-persisted-3")
    assert "protected" in (row.get_attribute("class") or "")
    assert (
        row.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 241, 194)"
    )
    assert "disk-cache" in row.inner_text()

    # A passing run is collapsed; following a finding's link to it opens it.
    passing = page.locator("#run-shop-chromium-fresh")
    assert passing.get_attribute("open") is None
    page.locator('#matrix td.cell[data-site="shop"][data-engine="chromium"][data-mode="fresh"] a').click()
    assert passing.get_attribute("open") is not None

    # Artifacts and JWT expiry.
    assert "playwright show-trace" in page.locator("#run-shop-chromium-persisted pre.show-trace").inner_text()
    assert (
        "expired 7 min 12 s before the server's Date" in page.locator("#run-api-chromium-fresh").inner_text()
    )

    # Self-contained: the page loaded nothing but itself (the screenshot thumbnail is a local file).
    assert all(url.startswith("file://") for url in requests)
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def test_make_screenshot_script(tmp_path: Path, chromium_options: dict[str, Any]) -> None:
    render_all(make_report(redacted=False), tmp_path)
    out = tmp_path / "shots" / "readme.png"
    # A subprocess, as the README runs it (and the module's browser fixture holds this thread's Playwright).
    command = [sys.executable, "-m", "loginprobe.reports.make_screenshot", str(out), str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    assert out.read_bytes().startswith(b"\x89PNG")
