"""Rendering of a `Report`: report.json, report.html, report.md, junit.xml, GitHub and terminal output.

Reports never re-diagnose: they show the evidence and the verdict exactly as the pipeline wrote them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from loginprobe.errors import OutputError
from loginprobe.report import Report
from loginprobe.reports.github import github_outputs
from loginprobe.reports.html import render_html
from loginprobe.reports.junit import render_junit
from loginprobe.reports.markdown import render_markdown

__all__ = [
    "github_outputs",
    "load_report",
    "render_all",
    "render_html",
    "render_json",
    "render_junit",
    "render_markdown",
]


def load_report(folder: Path) -> Report:
    """The Report of a report folder; OutputError when the folder is not a loginprobe report."""
    path = folder / "report.json"
    if not path.is_file():
        raise OutputError(f"{folder} is not a loginprobe report folder (no report.json)")
    try:
        return Report.load(folder)
    except (ValidationError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise OutputError(f"{path} is not a loginprobe report: {first}") from None
    except OSError as exc:
        raise OutputError(f"cannot read {path}: {exc.strerror or exc}") from None


def render_json(report: Report, folder: Path) -> Path:
    """Write report.json (the `Report` model itself)."""
    return report.write(folder)


def render_all(report: Report, folder: Path) -> list[Path]:
    """Write report.json, report.html, report.md and junit.xml into the folder; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        render_json(report, folder),
        render_html(report, folder),
        render_markdown(report, folder),
        render_junit(report, folder),
    ]
