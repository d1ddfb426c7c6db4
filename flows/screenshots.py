"""Screenshots a person reads in report.html: taken by the runner, small enough to embed as data URIs."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from loginprobe.reports.html_runs import EMBED_BYTES

AFTER_SUBMIT = "after-submit.jpg"
AT_END = "failure.jpg"
# JPEG at this quality keeps a 1280x720 login page near 30-60 KB, so report.html can embed it; a
# busier page is taken again at lower qualities until it fits report.html's limit (EMBED_BYTES).
JPEG_QUALITY = 70
FALLBACK_QUALITIES = (45, 25)
SHOT_TIMEOUT_MS = 5_000


def _jpeg(page: Page, path: Path) -> None:
    """Save the viewport as a JPEG small enough to embed (CSS pixels: no device-scale blow-up)."""
    for quality in (JPEG_QUALITY, *FALLBACK_QUALITIES):
        page.screenshot(path=str(path), type="jpeg", quality=quality, scale="css", timeout=SHOT_TIMEOUT_MS)
        if path.stat().st_size <= EMBED_BYTES:
            return


def after_submit(page: Page, folder: Path) -> str | None:
    """Screenshot the page right after the login was submitted (what the form said); the file name or None.

    Taken before the protected URL is opened, which would replace the form's own error message with a
    bare 401 page.
    """
    try:
        _jpeg(page, folder / AFTER_SUBMIT)
    except PlaywrightError:
        return None  # a closed, crashed or still-navigating page has nothing to show; the evidence stands
    return AFTER_SUBMIT


def at_end(page: Page, folder: Path) -> str | None:
    """Screenshot the page as a failing run ended; the file name or None."""
    try:
        _jpeg(page, folder / AT_END)
    except PlaywrightError:
        return None  # a closed or crashed page has nothing to show
    return AT_END
