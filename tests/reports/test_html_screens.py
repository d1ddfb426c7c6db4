"""report.html as a person sees it: screenshots of the page in headless Chromium on a desktop (1280 px)
and on a phone (390 px), with the real screenshots of a local login embedded in it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loginprobe.report import Report
from loginprobe.reports import render_all
from tests.reports.report_factory import make_report

pytestmark = pytest.mark.browser

RUN = "shop-chromium-persisted"  # the factory's failing run
NEXT_STEP = "Clear the profile's cookies, or send `Cache-Control: no-store` on <b>/account</b>."


@pytest.fixture(scope="module")
def chromium(chromium_options: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**chromium_options)
        yield browser
        browser.close()


def _report() -> Report:
    """The factory's report, its failing run holding the real login's screenshots and a backticked step."""
    base = make_report()
    shop = base.verdicts[0].model_copy(update={"next_step": NEXT_STEP})
    runs = [
        run.model_copy(
            update={
                "artifacts": run.artifacts.model_copy(
                    update={"screenshot_after_submit": f"{RUN}/after-submit.jpg"}
                )
            }
        )
        if run.run_id == RUN
        else run
        for run in base.runs
    ]
    return make_report(runs=runs, verdicts=[shop, *base.verdicts[1:]])


@pytest.fixture
def report_folder(recorded: Path, tmp_path: Path) -> Path:
    """A rendered report whose failing run has the recorded PNG (as it ended) and JPEG (after submit)."""
    folder = tmp_path / "report"
    (folder / RUN).mkdir(parents=True)
    shutil.copy(recorded / "failure.png", folder / RUN / "failure.png")
    shutil.copy(recorded / "after-submit.jpg", folder / RUN / "after-submit.jpg")
    render_all(_report(), folder)
    return folder


def _open(chromium: Any, page_path: Path, width: int) -> Any:
    page = chromium.new_page(viewport={"width": width, "height": 900})
    page.goto(page_path.as_uri())
    page.wait_for_load_state("load")
    return page


def _images_loaded(page: Any) -> list[dict[str, Any]]:
    return page.eval_on_selector_all(
        f"#run-{RUN} img.shot",
        "imgs => imgs.map(i => ({src: i.src.split(',')[0], width: i.naturalWidth, shown: i.clientWidth}))",
    )


@pytest.mark.parametrize("width", [1280, 390])
def test_report_reads_on_a_desktop_and_a_phone(
    chromium: Any, report_folder: Path, tmp_path: Path, width: int, request: pytest.FixtureRequest
) -> None:
    # Given report.html sent alone (its folder's screenshots left behind)
    alone = tmp_path / "mailed" / "report.html"
    alone.parent.mkdir()
    shutil.copy(report_folder / "report.html", alone)
    page = _open(chromium, alone, width)
    try:
        shot = tmp_path / f"report-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        keep = request.config.getoption("--basetemp", None)
        if keep:  # a reviewer can look at the pictures with --basetemp
            shutil.copy(shot, Path(keep) / shot.name)

        # Then nothing is wider than the screen: wide tables scroll inside their own box
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than the {width}px viewport"
        for table in page.locator("table").all():
            box = table.evaluate("t => t.parentElement.getBoundingClientRect().right")
            assert box <= width + 0.5, "a table's box sticks out of the page"

        # ... the verdict and the cause id are on screen
        verdict = page.locator('.verdict[data-site="shop"]')
        badge = verdict.locator(".badge.primary")
        assert badge.is_visible() and badge.inner_text() == "stale-cookie"
        assert verdict.locator(".summary").is_visible()
        assert badge.bounding_box()["x"] + badge.bounding_box()["width"] <= width

        # ... backticks are code, escaped text stays text
        code = verdict.locator(".next code")
        assert code.inner_text() == "Cache-Control: no-store"
        assert "<b>/account</b>" in verdict.locator(".next").inner_text()

        # ... both screenshots of the failing run show, embedded: after submit first, then the end
        images = _images_loaded(page)
        assert [i["src"] for i in images] == ["data:image/jpeg;base64", "data:image/png;base64"]
        assert all(i["width"] > 0 and i["shown"] > 0 for i in images), images
        captions = page.locator(f"#run-{RUN} figure.shot figcaption").all_inner_texts()
        assert captions[0].startswith("right after the login was submitted")
        assert captions[1].startswith("as the run ended")
        assert all(i["shown"] <= width for i in images)
    finally:
        page.close()


def test_embedded_screenshots_stay_small(report_folder: Path) -> None:
    # Each data URI stays well under 150 KB, so the page stays quick to mail and open
    text = (report_folder / "report.html").read_text(encoding="utf-8")
    uris = [part.split('"', 1)[0] for part in text.split('src="data:')[1:]]
    assert len(uris) == 2
    assert all(len(uri) < 150_000 for uri in uris), [len(u) for u in uris]
    # ... and the files stay linked beside them
    assert f'href="{RUN}/after-submit.jpg"' in text and f'href="{RUN}/failure.png"' in text
