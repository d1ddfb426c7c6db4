"""The output folder's `latest` link to its newest run, and the run folders it holds."""

from __future__ import annotations

import os
from pathlib import Path

LATEST = "latest"


def run_folders(output: Path) -> list[Path]:
    """Run folders directly under `output` (those holding report.json), oldest first.

    Run folder names start with their UTC time, so name order is time order."""
    if not output.is_dir():
        return []
    return sorted(
        (p for p in output.iterdir() if p.name != LATEST and p.is_dir() and (p / "report.json").is_file()),
        key=lambda p: p.name,
    )


def point_latest(run: Path) -> Path:
    """Make `<output>/latest` point at `run`: a relative symlink, or where links are not allowed
    (some Windows setups), a one-line file holding the run folder's name."""
    link = run.parent / LATEST
    temporary = run.parent / f".{LATEST}-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    try:
        temporary.symlink_to(run.name, target_is_directory=True)
    except OSError:
        temporary.write_text(run.name + "\n", encoding="utf-8")
    if link.is_dir() and not link.is_symlink():
        raise OSError(f"{link} is a folder, not a link")
    # Replaced in one step, so two checks finishing at once never leave it missing.
    os.replace(temporary, link)
    return link
