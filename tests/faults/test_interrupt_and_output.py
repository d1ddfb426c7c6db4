"""Ctrl-C keeps a partial report; two runs at once never collide; an unwritable output is one line."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from tests.faults.report_access import only_report
from tests.faults.servers import FaultSite, report_folders, run_cli, start_cli

ONE_RUN = ["--flow", "basic", "-b", "chromium", "-m", "fresh", "--no-ablate"]


@pytest.mark.browser
@pytest.mark.usefixtures("chromium")
@pytest.mark.parametrize("whole_group", [False, True], ids=["sigint-to-loginprobe", "ctrl-c-in-a-terminal"])
def test_ctrl_c_writes_a_partial_report(
    whole_group: bool, tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    # Given two sites checked one after the other, the second of which never answers
    origin, site = server
    config = tmp_path / "sites.toml"
    config.write_text(
        f'[[sites]]\nname = "done"\nurl = "{origin}/ok"\nflow = "basic"\n\n'
        f'[[sites]]\nname = "hung"\nurl = "{origin}/slow"\nflow = "basic"\n',
        encoding="utf-8",
    )
    proc = start_cli(
        "check", "-c", str(config), "-b", "chromium", "-m", "fresh", "--no-ablate", "-w", "1",
        "-o", str(output), cwd=tmp_path, start_new_session=True,
    )  # fmt: skip
    try:
        assert site.first_request.wait(60)
        while "/slow" not in site.seen:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)

        # When Ctrl-C comes while the second site's page loads: a terminal signals the whole
        # foreground group (Playwright's driver too); `kill -INT` signals loginprobe alone
        if whole_group:
            os.killpg(proc.pid, signal.SIGINT)
        else:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)

    # Then the first site's evidence is kept, the second is listed as missing, and one line says where
    folder, report = only_report(output)
    assert proc.returncode == 130, out + err
    messages = [line for line in err.splitlines() if line.startswith("loginprobe: ")]
    assert messages == [f"loginprobe: interrupted: partial report in {folder}"]
    assert report["interrupted"] is True
    assert report["missing"] == ["hung-chromium-fresh"]
    assert [(r["run_id"], r["outcome"]["success"]) for r in report["runs"]] == [("done-chromium-fresh", True)]
    assert (folder / "report.html").is_file()


@pytest.mark.browser
@pytest.mark.usefixtures("chromium")
def test_two_runs_at_once_write_two_report_folders(
    tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    origin, _ = server
    args = ["check", "--url", f"{origin}/ok", *ONE_RUN, "-o", str(output)]

    first, second = start_cli(*args, cwd=tmp_path), start_cli(*args, cwd=tmp_path)
    results = [proc.communicate(timeout=120) for proc in (first, second)]

    assert [first.returncode, second.returncode] == [0, 0], results
    folders = report_folders(output)
    assert len(folders) == 2
    for folder in folders:
        report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
        assert [r["outcome"]["success"] for r in report["runs"]] == [True]
        assert (folder / "site-chromium-fresh" / "trace.zip").is_file()


@pytest.mark.parametrize(
    ("make_output", "problem"),
    [
        # A path under a regular file: even root cannot create it.
        (lambda tmp: tmp / "notes.txt" / "reports", "Not a directory"),
        (lambda tmp: tmp / "notes.txt", "it is not a directory"),
        # /proc refuses new entries whatever the permissions.
        (lambda tmp: Path("/proc/loginprobe-reports"), "No such file or directory"),
    ],
    ids=["under-a-file", "a-file", "proc"],
)
def test_unwritable_output_is_one_line_exit_3(tmp_path: Path, make_output, problem: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "notes.txt").write_text("not a folder", encoding="utf-8")
    output = make_output(tmp_path)

    result = run_cli("check", "--url", "http://127.0.0.1:9/", *ONE_RUN, "-o", str(output), cwd=tmp_path)

    assert result.code == 3
    assert result.messages == [f"loginprobe: OutputError: cannot write reports to {output}: {problem}"]
    assert result.stdout == ""
