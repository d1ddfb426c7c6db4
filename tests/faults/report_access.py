"""Reading what a CLI run left behind (report.json is the contract, see reports/SCHEMA.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.faults.servers import report_folders


def only_report(output: Path) -> tuple[Path, dict[str, Any]]:
    """The one report folder under `output`, and its report.json."""
    folders = report_folders(output)
    assert len(folders) == 1, folders
    return folders[0], json.loads((folders[0] / "report.json").read_text(encoding="utf-8"))


def outcome_reasons(report: dict[str, Any]) -> dict[str, str]:
    return {run["run_id"]: run["outcome"]["reason"] for run in report["runs"]}
