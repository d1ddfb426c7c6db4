"""A browser that dies: its run is skipped with a reason, every other engine's evidence is kept."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from tests.faults.report_access import only_report
from tests.faults.servers import FaultSite, browser_processes, cli_env, start_cli

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("chromium")]


def test_chromium_killed_while_the_page_loads_keeps_firefox(
    firefox: None, tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    origin, site = server
    args = ["--url", f"{origin}/kill", "--flow", "basic", "-m", "fresh", "--no-ablate", "-o", str(output)]
    proc = start_cli("check", *args, "-b", "chromium", "-b", "firefox", cwd=tmp_path)

    def kill_chromium(user_agent: str) -> None:
        # Given Chromium's request for the page: kill every Chromium process of this CLI run
        if "Firefox" in user_agent:
            return
        for browser in browser_processes(proc.pid, ("chromium", "chrome")):
            try:
                browser.kill()
            except psutil.NoSuchProcess:
                pass

    site.on_kill = kill_chromium
    out, err = proc.communicate(timeout=120)

    # Then Chromium's run is skipped with its reason, Firefox's login is reported, and the exit code
    # says loginprobe could not do all of its job
    assert proc.returncode == 3, out + err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("loginprobe: ")]  # not progress lines
    assert len(lines) == 1
    assert lines[0].startswith(
        "loginprobe: site/chromium/fresh skipped: chromium crashed or was closed during the run: "
    )
    _, report = only_report(output)
    assert [(r["engine"], r["outcome"]["success"]) for r in report["runs"]] == [("firefox", True)]
    assert [s["engine"] for s in report["skipped"]] == ["chromium"]
    assert not report["interrupted"]


def test_firefox_that_exits_at_launch_is_skipped_and_chromium_kept(
    tmp_path: Path, output: Path, server: tuple[str, FaultSite]
) -> None:
    origin, _ = server
    fake = tmp_path / "firefox"
    fake.write_text("#!/bin/sh\necho 'Mozilla Firefox 153.0esr'\nexit 1\n", encoding="utf-8")
    fake.chmod(0o755)

    proc = start_cli(
        "check", "--url", f"{origin}/ok", "--flow", "basic", "-m", "fresh", "--no-ablate", "-o", str(output),
        "-b", "chromium", "-b", "firefox", "--executable", f"firefox={fake}",
        cwd=tmp_path, env=cli_env(COLUMNS="80"),
    )  # fmt: skip
    out, err = proc.communicate(timeout=120)

    assert proc.returncode == 3, out + err
    assert [line for line in err.splitlines() if line.startswith("loginprobe: ")] == [
        "loginprobe: site/firefox/fresh skipped: firefox failed to launch: "
        "BrowserType.launch: Failed to launch the browser process."
    ]
    # Its progress line says "skipped" in the status column; the reason follows, wrapped to 80 columns
    progress = [line for line in err.splitlines() if not line.startswith("loginprobe")]
    assert any(line.split()[1:4] == ["firefox", "fresh", "skipped"] for line in progress if line.strip())
    assert any("failed to launch" in line for line in progress)
    assert max(len(line) for line in progress) <= 80, progress
    _, report = only_report(output)
    assert [(r["engine"], r["outcome"]["success"]) for r in report["runs"]] == [("chromium", True)]
