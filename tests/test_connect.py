"""`--connect ENGINE=ws://...`: browsers launched by a real Playwright server on 127.0.0.1.

`playwright run-server` launches its own managed build unless the client names an executable, which
it honours only when started with `--unsafe` (Playwright 1.64); `playwright launch-server --config`
launches the browser its config names. Both are exercised, each on a real lab form login.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from playwright.sync_api import sync_playwright

from loginprobe.config.loading import load_settings
from loginprobe.config.settings import Site
from loginprobe.errors import BrowserUnavailable
from loginprobe.evidence import Engine, EngineStatus
from loginprobe.flows.engines import CHROMIUM_ARGS
from loginprobe.flows.remote import client_version, connect_browser
from loginprobe.lab.scenarios import SCENARIOS
from loginprobe.lab.server import Lab
from loginprobe.pipeline import run_check
from tests.conftest import require_engine

pytestmark = pytest.mark.browser
T = TypeVar("T")


def _in_thread(fn: Callable[[], T]) -> T:
    """Playwright's sync API owns its thread; keep it off the test's (which may host an event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def _start(command: list[str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """Start a Playwright server and read the ws:// endpoint it prints (its output goes to a file,
    so a chatty server never blocks on a full pipe)."""
    with log.open("wb") as sink:
        # Its own process group: `python -m playwright` runs the server in a node child process,
        # which must go (with the browsers it launched) when the server is stopped.
        server = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        found = re.search(r"ws://\S+", log.read_text(errors="replace"))
        if found:
            return server, found.group(0)
        time.sleep(0.05)
    _stop(server)
    raise AssertionError(f"the Playwright server printed no endpoint: {log.read_text(errors='replace')!r}")


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group (the Python wrapper, node, and their browsers)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            break  # the group is already gone
        try:
            server.wait(timeout=10)
            break
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def chromium_here(engine_status: dict[Engine, EngineStatus]) -> str:
    """The Chromium binary this machine would run (managed build or system package)."""
    require_engine(engine_status, "chromium")
    executable = engine_status["chromium"].executable
    assert executable is not None
    return executable


@pytest.fixture(scope="module")
def run_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`playwright run-server` on 127.0.0.1, allowed to take the client's executable (--unsafe)."""
    server, endpoint = _start(
        [sys.executable, "-m", "playwright", "run-server", "--port", "0", "--host", "127.0.0.1", "--unsafe"],
        tmp_path_factory.mktemp("run-server") / "server.log",
    )
    yield endpoint
    _stop(server)


@pytest.fixture(scope="module")
def launch_server(chromium_here: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`playwright launch-server` of this machine's Chromium, configured on the server side."""
    config = tmp_path_factory.mktemp("launch-server") / "chromium.json"
    config.write_text(
        json.dumps(
            {"executablePath": chromium_here, "args": CHROMIUM_ARGS, "headless": True, "host": "127.0.0.1"}
        )
    )
    server, endpoint = _start(
        [
            sys.executable,
            "-m",
            "playwright",
            "launch-server",
            "--browser",
            "chromium",
            "--config",
            str(config),
        ],
        config.with_name("server.log"),
    )
    yield endpoint
    _stop(server)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab() as running:
        yield running


def _form_site(lab: Lab) -> Site:
    return Site(**{"name": "remote-form", **SCENARIOS["control-form"].site(lab)})


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connect_browser_launches_the_clients_executable(
    run_server: str, chromium_here: str, lab: Lab
) -> None:
    # Given a run-server started with --unsafe, when the client names the executable (a path there)
    def visit() -> tuple[str, str]:
        with sync_playwright() as playwright:
            options = {"headless": True, "executable_path": chromium_here, "args": CHROMIUM_ARGS}
            browser = connect_browser(playwright.chromium, run_server, options)
            try:
                page = browser.new_page()
                page.goto(lab.app_url + "/login")
                return browser.version, page.title()
            finally:
                browser.close()

    version, _title = _in_thread(visit)
    # Then the server launched it and it reached the lab
    assert re.match(r"\d+\.", version)


def _check_through(endpoint: str, lab: Lab, tmp_path: Path, executables: dict[str, str]) -> Any:
    settings = load_settings(
        None,
        sites=[_form_site(lab)],
        browsers=["chromium"],
        modes=["fresh", "persisted"],
        connect={"chromium": endpoint},
        executables=executables,
        output=tmp_path / "reports",
        profiles_dir=tmp_path / "profiles",
        workers=2,
    )
    return run_check(settings)


def _assert_fresh_passes_persisted_skipped(outcome: Any) -> None:
    runs = {(r.engine, r.mode): r for r in outcome.report.runs}
    assert runs[("chromium", "fresh")].outcome.success, runs[("chromium", "fresh")].outcome.reason
    assert ("chromium", "persisted") not in runs
    [skipped] = outcome.report.skipped
    assert skipped.mode == "persisted"
    assert "persisted profile cannot be opened on a remote browser server" in skipped.reason
    chromium = next(e for e in outcome.report.engines if e.engine == "chromium")
    assert chromium.launch is not None and "remote Playwright server" in chromium.launch


def test_pipeline_on_run_server(run_server: str, chromium_here: str, lab: Lab, tmp_path: Path) -> None:
    # Given a run-server whose Chromium is named by --executable chromium=PATH (a path on the server)
    # When loginprobe checks the lab's form login through it, in fresh and persisted modes
    outcome = _check_through(run_server, lab, tmp_path, {"chromium": chromium_here})
    # Then the fresh login passes and the persisted one is skipped with its reason
    _assert_fresh_passes_persisted_skipped(outcome)


def test_pipeline_on_launch_server(launch_server: str, lab: Lab, tmp_path: Path) -> None:
    # Given a launch-server that starts this machine's Chromium from its own config
    outcome = _check_through(launch_server, lab, tmp_path, {})
    # Then the fresh login passes and the persisted one is skipped with its reason
    _assert_fresh_passes_persisted_skipped(outcome)


def test_unreachable_endpoint_is_one_clear_line() -> None:
    endpoint = f"ws://127.0.0.1:{_closed_port()}/"

    def connect() -> None:
        with sync_playwright() as playwright:
            connect_browser(playwright.chromium, endpoint, {"headless": True})

    with pytest.raises(BrowserUnavailable) as raised:
        _in_thread(connect)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"chromium: the Playwright server at {endpoint} is unreachable (")


def test_version_mismatch_is_one_clear_line(run_server: str) -> None:
    # Given a client that announces another Playwright minor (the server reads the User-Agent)
    def connect() -> None:
        with sync_playwright() as playwright:
            old = {"User-Agent": "Playwright/1.63.0 (x64; debian 13) python/3.11"}
            connect_browser(playwright.chromium, run_server, {"headless": True}, headers=old)

    # Then the server's 428 becomes one line naming both versions
    with pytest.raises(BrowserUnavailable) as raised:
        _in_thread(connect)
    message = str(raised.value)
    assert "\n" not in message
    assert f"runs Playwright {client_version()}, loginprobe's client 1.63; both must share" in message


def test_wrong_endpoint_in_the_pipeline_is_an_infrastructure_error(lab: Lab, tmp_path: Path) -> None:
    port = _closed_port()
    outcome = _check_through(f"ws://127.0.0.1:{port}/", lab, tmp_path, {})
    assert outcome.exit_code == 3
    fresh = next(s for s in outcome.report.skipped if s.mode == "fresh")
    assert f"127.0.0.1:{port}" in fresh.reason
