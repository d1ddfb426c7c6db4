"""Screenshots a person reads in report.html: taken by the runner, small enough to embed as data URIs."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

AFTER_SUBMIT = "after-submit.jpg"
# JPEG at this quality keeps a 1280x720 login page near 30-60 KB, so report.html can embed it.
JPEG_QUALITY = 70
SHOT_TIMEOUT_MS = 5_000


def after_submit(page: Page, folder: Path) -> str | None:
    """Screenshot the page right after the login was submitted (what the form said); the file name or None.

    Taken before the protected URL is opened, which would replace the form's own error message with a
    bare 401 page.
    """
    try:
        page.screenshot(
            path=str(folder / AFTER_SUBMIT), type="jpeg", quality=JPEG_QUALITY, timeout=SHOT_TIMEOUT_MS
        )
    except PlaywrightError:
        return None  # a closed, crashed or still-navigating page has nothing to show; the evidence stands
    return AFTER_SUBMIT
