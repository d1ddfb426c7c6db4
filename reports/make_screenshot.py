"""Screenshot a report.html for the README: `python -m loginprobe.reports.make_screenshot OUT.png DIR`."""

from __future__ import annotations

import sys
from pathlib import Path

from loginprobe.errors import OutputError


def screenshot(report_dir: Path, out: Path, *, width: int = 1280, full_page: bool = True) -> Path:
    """Open report_dir/report.html in headless Chromium (file:// URL) and save a PNG."""
    from playwright.sync_api import sync_playwright

    page_path = (report_dir / "report.html").resolve()
    if not page_path.is_file():
        raise OutputError(f"{report_dir} has no report.html (render it with `loginprobe report`)")
    from loginprobe.flows.browsers import launch_options

    with sync_playwright() as playwright:
        try:
            options = launch_options(playwright, "chromium")
        except LookupError as exc:
            raise OutputError(f"cannot take the screenshot: {exc}") from None
        browser = playwright.chromium.launch(**options)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(page_path.as_uri())
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=full_page)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI: OUT.png REPORT_DIR."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m loginprobe.reports.make_screenshot OUT.png REPORT_DIR", file=sys.stderr)
        return 2
    print(screenshot(Path(args[1]), Path(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
