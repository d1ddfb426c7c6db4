"""A plan with nothing to run is one line and exit 2, before any browser starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.servers import report_folders, run_cli

ONE_SITE = ["--url", "http://127.0.0.1:9/app", "--flow", "basic", "-b", "chromium"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["-m", "state"],
            "loginprobe: ConfigError: nothing to run: mode 'state' needs a storage_state file for the site "
            "(--storage-state, or storage_state in its [[sites]] entry)",
        ),
        (
            ["-m", "fresh", "--shard", "2/3"],
            "loginprobe: ConfigError: --shard 2/3 has nothing to run: the plan has 1 site x browser pair "
            "for 3 shards",
        ),
    ],
    ids=["state-without-storage-state", "empty-shard"],
)
def test_nothing_to_run_is_one_line_and_exit_2(
    extra: list[str], message: str, tmp_path: Path, output: Path
) -> None:
    result = run_cli("check", *ONE_SITE, *extra, "-o", str(output), cwd=tmp_path)

    assert result.code == 2, result.stdout + result.stderr
    assert result.lines == [message]
    assert report_folders(output) == []  # no report that says "none (100%)"
