"""One zip with everything a bug report needs, re-redacted and refused when the report is unredacted."""

from __future__ import annotations

import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from loginprobe.errors import OutputError
from loginprobe.report import Report
from loginprobe.reports import load_report, render_html, render_json, render_junit, render_markdown
from loginprobe.reports.redact import redact_artifacts
from loginprobe.secrets import Redactor

RENDERERS = {
    "report.json": render_json,
    "report.html": render_html,
    "report.md": render_markdown,
    "junit.xml": render_junit,
}
RENDERED = tuple(RENDERERS)


def bundle_members(report: Report, run_folder: Path) -> list[str]:
    """Relative paths the bundle holds: the rendered outputs and every run's existing artifacts."""
    members = list(RENDERED)
    for run in report.runs:
        art = run.artifacts
        for path in (art.trace, art.har, art.screenshot_after_submit, art.screenshot):
            if path and path not in members and _inside(run_folder, path).is_file():
                members.append(path)
    return members


def _inside(folder: Path, relative: str) -> Path:
    """A report-relative path, refused when it points outside the folder."""
    target = (folder / relative).resolve()
    if not target.is_relative_to(folder.resolve()):
        raise OutputError(f"artifact path {relative!r} points outside the report folder")
    return target


def write_bundle(
    run_folder: Path,
    dest: Path | None = None,
    *,
    allow_unredacted: bool = False,
    redactor: Redactor | None = None,
) -> Path:
    """Write `<folder>-bundle.zip` (or `dest`); OutputError for a non-report or an unredacted report."""
    report = load_report(run_folder)
    if not report.redacted and not allow_unredacted:
        raise OutputError(
            f"{run_folder} was written with --no-redact and may contain secrets; "
            "refusing to bundle it (pass allow_unredacted=True to override)"
        )
    dest = dest or run_folder.parent / f"{run_folder.name}-bundle.zip"
    with tempfile.TemporaryDirectory(prefix="loginprobe-bundle-") as work:
        staging = Path(work) / run_folder.name
        staging.mkdir()
        for name, render in RENDERERS.items():
            if (run_folder / name).is_file():
                shutil.copy2(run_folder / name, staging / name)
            else:
                try:
                    render(report, run_folder.resolve())  # its show-trace paths name the real folder
                    shutil.move(run_folder.resolve() / name, staging / name)
                except OSError:
                    render(report, staging)  # a read-only report folder: render beside the copies
        members = bundle_members(report, run_folder)
        for member in members:
            if member not in RENDERED:
                target = staging / member
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(_inside(run_folder, member), target)
        if report.redacted:
            # Re-scan: any credential still sitting in a Cookie/Authorization header, a cookie value,
            # a password field or an api-key parameter is fingerprinted before it leaves the machine.
            redact_artifacts(staging, redactor or Redactor())
        _write_zip(staging, members, dest)
    return dest


def _write_zip(staging: Path, members: list[str], dest: Path) -> None:
    """Zip the staged members under one top folder, atomically."""
    temp: str | None = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        with os.fdopen(fd, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for member in members:
                archive.write(staging / member, f"{staging.name}/{member}")
        os.replace(temp, dest)
    except OSError as exc:
        if temp is not None:
            Path(temp).unlink(missing_ok=True)
        raise OutputError(f"cannot write the bundle {dest}: {exc.strerror or exc}") from None
