"""`loginprobe browsers`: every engine listed, with the version of each one found, and the reason
plus the install command for each one missing (WebKit on Debian)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from loginprobe.evidence import ENGINES, Engine, EngineStatus
from tests.faults.servers import run_cli


def test_browsers_lists_every_engine_with_version_or_reason(
    engine_status: dict[Engine, EngineStatus], tmp_path: Path
) -> None:
    # When a CI script asks which engines can run here
    result = run_cli("browsers", "--json", cwd=tmp_path)
    # Then every engine has a row, and the exit code says whether any engine can run
    rows = {row["engine"]: row for row in json.loads(result.stdout)}
    assert sorted(rows) == sorted(ENGINES)
    assert result.code == (0 if any(s.available for s in engine_status.values()) else 3), result.stderr
    for engine, row in rows.items():
        assert row["available"] == engine_status[engine].available
        if row["available"]:
            # A found engine names its launch and a version read from the binary itself
            assert row["launch"] and row["executable"]
            assert row["version"] and row["version"][0].isdigit(), row
        else:
            # A missing one says why, and what would install it
            assert row["reason"] and row["install_hint"].startswith("playwright install")


def test_each_version_is_what_the_binary_itself_reports(tmp_path: Path) -> None:
    # When the table lists an engine it found (Chromium once showed Firefox's application.ini version)
    rows = json.loads(run_cli("browsers", "--json", cwd=tmp_path).stdout)
    checked = 0
    for row in rows:
        if not row["available"]:
            continue
        # Then the binary, asked directly, prints that same version
        printed = subprocess.run(
            [row["executable"], "--version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
        assert row["version"] in printed, (row, printed)
        checked += 1
    assert checked, "no engine available to check"
