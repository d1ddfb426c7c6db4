"""Browsers on a remote Playwright server (`--connect ENGINE=ws://...`).

A Playwright server launches the browser itself, on its own machine. What it launches comes from the
`x-playwright-launch-options` header of the connection (measured with Playwright 1.64):

- `playwright run-server` honours `headless`, `channel`, `proxy` and `timeout` from the header, and
  `executablePath`, `args` and `firefoxUserPrefs` only when it was started with `--unsafe`; without an
  executable it launches its own managed build (what `playwright install` put on the server).
- `playwright launch-server --config FILE` launches one browser from FILE and ignores the header.

Client and server must share Playwright's major.minor: the server refuses any other client with
HTTP 428 before a browser starts. A persisted profile cannot be opened remotely (the runner skips it).
"""

from __future__ import annotations

import json
import re
import socket
from importlib.metadata import version as package_version
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserType
from playwright.sync_api import Error as PlaywrightError

from loginprobe.errors import BrowserUnavailable

# Playwright's Python names of launch options -> the protocol names the server reads.
_PROTOCOL_NAMES = {
    "executable_path": "executablePath",
    "firefox_user_prefs": "firefoxUserPrefs",
    "ignore_default_args": "ignoreDefaultArgs",
    "chromium_sandbox": "chromiumSandbox",
    "slow_mo": "slowMo",
}
_SERVER_VERSION = re.compile(r"server version: v(\d+\.\d+)")
_CLIENT_VERSION = re.compile(r"client version: v(\d+\.\d+)")


def client_version() -> str:
    """major.minor of the Playwright this process drives (the server must run the same)."""
    return ".".join(package_version("playwright").split(".")[:2])


def launch_options_header(launch_options: dict[str, Any]) -> str:
    """The JSON a Playwright server reads from `x-playwright-launch-options`."""
    return json.dumps(
        {_PROTOCOL_NAMES.get(key, key): value for key, value in launch_options.items() if value is not None}
    )


def _reachable(endpoint: str, timeout_s: float) -> str | None:
    """None when something accepts TCP connections at the endpoint, else why not."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return f"{endpoint!r} is not a ws:// or wss:// URL"
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return None
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


def connect_browser(
    browser_type: BrowserType,
    endpoint: str,
    launch_options: dict[str, Any],
    *,
    timeout_s: float = 60.0,
    headers: dict[str, str] | None = None,
) -> Browser:
    """Connect to the Playwright server at `endpoint` and have it launch `browser_type`'s engine.

    `launch_options` are Playwright's Python launch keywords (`headless`, `executable_path`, `channel`,
    `args`, ...) as the server should use them: an `executable_path` is a path on the server.
    Raises `BrowserUnavailable` (one line) when the server is unreachable, runs another Playwright
    major.minor, or cannot launch the engine.
    """
    engine = browser_type.name
    problem = _reachable(endpoint, min(timeout_s, 10.0))
    if problem is not None:
        raise BrowserUnavailable(f"{engine}: the Playwright server at {endpoint} is unreachable ({problem})")
    all_headers = {"x-playwright-launch-options": launch_options_header(launch_options), **(headers or {})}
    try:
        return browser_type.connect(endpoint, headers=all_headers, timeout=timeout_s * 1000)
    except PlaywrightError as exc:
        raise BrowserUnavailable(_explain(engine, endpoint, str(exc))) from None


def _explain(engine: str, endpoint: str, message: str) -> str:
    """One line for a failed connect, with what to do about it."""
    if "version mismatch" in message or "428 Precondition Required" in message:
        # The server compares the User-Agent's Playwright/X.Y.Z with its own X.Y and answers 428.
        server = _SERVER_VERSION.search(message)
        client = _CLIENT_VERSION.search(message)
        theirs = server.group(1) if server else "another version"
        mine = client.group(1) if client else client_version()
        return (
            f"{engine}: the Playwright server at {endpoint} runs Playwright {theirs}, loginprobe's client "
            f"{mine}; both must share major.minor (run the server with playwright=={mine}.*)"
        )
    first = next((line.strip() for line in message.splitlines() if line.strip()), message)
    first = first.removeprefix("BrowserType.connect: ")
    hint = ""
    if "Executable doesn't exist" in message or "Cannot find" in message:
        hint = (
            "; the server has no such browser: run `playwright install` there, or start it with "
            "`playwright run-server --unsafe` and pass --executable ENGINE=PATH (a path on the server)"
        )
    return f"{engine}: the Playwright server at {endpoint} could not provide a browser: {first}{hint}"
