"""Engine quirks, isolated: everything that differs between Chromium, Firefox and WebKit lives here.

The rest of flows/ runs one code path for every engine and asks this module for the differences:
how to find and launch an engine, which signal says a response came from the cache, which profile
files hold the HTTP cache, and which behaviours of an engine are known to shape a login.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loginprobe.evidence import Engine, ServedFrom

# Chromium, as root and on a closed network, needs these to start quietly (measured here: without
# the background-networking flags it floods the log with refused connections to Google hosts).
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Chromium and Firefox send loopback traffic around a configured proxy unless told otherwise.
CHROMIUM_PROXY_ARGS = ["--proxy-bypass-list=<-loopback>"]
FIREFOX_PROXY_PREFS = {"network.proxy.allow_hijacking_localhost": True}

SYSTEM_EXECUTABLES: dict[Engine, tuple[str, ...]] = {
    "chromium": ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"),
    "firefox": ("firefox-esr", "firefox"),
    "webkit": (),
}
# Firefox is driven over WebDriver BiDi when it is not Playwright's own build; BiDi in ESR 128+ is
# what Playwright 1.64 needs (persistent contexts, HAR, tracing and storage_state all work there).
FIREFOX_MIN_BIDI_VERSION = 128

INSTALL_HINTS: dict[Engine, str] = {
    "chromium": "playwright install chromium  (or on Debian: apt-get install -y chromium)",
    "firefox": "playwright install firefox  (or on Debian: apt-get install -y firefox-esr)",
    "webkit": "playwright install --with-deps webkit  (or on Debian: apt-get install -y webkit2gtk-driver "
    "gir1.2-webkit2-4.1 python3-gi xvfb)",
}

# Profile files of the HTTP cache, service workers and the Cache API, relative to the profile root.
CACHE_PATHS: dict[Engine, tuple[str, ...]] = {
    "chromium": (
        "Default/Cache",
        "Default/Code Cache",
        "Default/Service Worker",
        "Default/GPUCache",
    ),
    "firefox": ("cache2", "startupCache", "serviceworker.txt", "storage/default/*/cache"),
    "webkit": ("WebsiteData/CacheStorage", "WebsiteData/ServiceWorkers", "Cache"),
}
# Lock files a running browser leaves; a copy of a profile must not carry them.
PROFILE_LOCKS = ("SingletonLock", "SingletonSocket", "SingletonCookie", "lock", ".parentlock", "parent.lock")


@dataclass(frozen=True, slots=True)
class LaunchRecipe:
    """How to start one engine here: the keyword arguments for Playwright and how we found it."""

    engine: Engine
    how: str  # "playwright-managed", "system executable", "system executable (BiDi channel)", "remote"
    executable: str | None
    version: str | None
    options: dict[str, Any]

    def launch_options(self, *, proxy: bool = False) -> dict[str, Any]:
        options = dict(self.options)
        if proxy and self.engine == "chromium":
            options["args"] = [*options.get("args", []), *CHROMIUM_PROXY_ARGS]
        if proxy and self.engine == "firefox":
            options["firefox_user_prefs"] = {**options.get("firefox_user_prefs", {}), **FIREFOX_PROXY_PREFS}
        return options


def _version_from_files(executable: str) -> str | None:
    """Firefox keeps its version in application.ini beside the binary: no process needed."""
    real = Path(executable).resolve()
    folders = [real.parent, Path("/usr/lib") / real.name]
    if "firefox" in real.name:  # Debian's /usr/bin/firefox-esr is a link or a wrapper script
        folders += [Path("/usr/lib/firefox-esr"), Path("/usr/lib/firefox")]
    for folder in folders:
        ini = folder / "application.ini"
        if ini.is_file():
            match = re.search(r"^Version=(\S+)", ini.read_text(encoding="utf-8", errors="replace"), re.M)
            if match:
                return match.group(1)
    return None


def version_of(executable: str) -> str | None:
    """Ask a browser binary for its version without starting a window."""
    found = _version_from_files(executable)
    if found:
        return found
    try:
        done = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"(\d+\.\d+[\w.]*)", done.stdout)
    return match.group(1) if match else None


def managed_executable(engine: Engine, playwright_path: str | None) -> str | None:
    """Playwright's own build of the engine, when `playwright install` has put it on disk."""
    if playwright_path and Path(playwright_path).is_file():
        return playwright_path
    return None


def find_recipe(
    engine: Engine, playwright_path: str | None, override: Path | None = None
) -> LaunchRecipe | str:
    """A launch recipe, or the reason the engine cannot run here."""
    if override is not None:
        return _system_recipe(engine, str(override))
    managed = managed_executable(engine, playwright_path)
    if managed:
        options: dict[str, Any] = {"args": list(CHROMIUM_ARGS)} if engine == "chromium" else {}
        return LaunchRecipe(engine, "playwright-managed", managed, None, options)
    if engine == "webkit":
        # No Playwright WebKit: Debian's WebKitGTK over WebDriver classic, when installed.
        from loginprobe.flows import webkit_launch

        return webkit_launch.find_recipe()
    for name in SYSTEM_EXECUTABLES[engine]:
        found = shutil.which(name)
        if found:
            return _system_recipe(engine, found)
    return (
        f"neither Playwright's {engine} build nor a system {engine} "
        f"({', '.join(SYSTEM_EXECUTABLES[engine])}) was found"
    )


def _system_recipe(engine: Engine, executable: str) -> LaunchRecipe | str:
    if not Path(executable).exists():
        return f"the configured executable {executable} does not exist"
    if engine == "chromium":
        # The launched browser reports its version; asking the binary would cost a process start.
        return LaunchRecipe(
            engine,
            "system executable",
            executable,
            None,
            {"executable_path": executable, "args": list(CHROMIUM_ARGS)},
        )
    version = version_of(executable)
    if engine == "firefox":
        major = int(version.split(".")[0]) if version else None
        if major is not None and major < FIREFOX_MIN_BIDI_VERSION:
            return (
                f"system Firefox {version} at {executable} is older than {FIREFOX_MIN_BIDI_VERSION}, "
                "the first release whose WebDriver BiDi Playwright can drive"
            )
        return LaunchRecipe(
            engine,
            "system executable (BiDi channel)",
            executable,
            version,
            {"executable_path": executable, "channel": "moz-firefox"},
        )
    return LaunchRecipe(engine, "system executable", executable, version, {"executable_path": executable})


def served_from_playwright(
    engine: Engine, from_service_worker: bool, response_start: float, response_headers_size: int | None
) -> tuple[ServedFrom, str]:
    """Best signal Playwright itself gives (CDP refines this for Chromium in the recorder).

    `response_start` is the request's `timing["responseStart"]`; `response_headers_size` is
    `sizes()["responseHeadersSize"]`, None when the request's sizes were not asked for.
    """
    if from_service_worker:
        return "service-worker", "playwright: response.from_service_worker"
    if engine == "firefox" and response_headers_size is not None:
        # WebDriver BiDi's fromCache does not reach Playwright's API; a cached response is the one
        # with no timing from the network and no header bytes on the wire (measured on ESR 153).
        if response_start == -1 and response_headers_size == 0:
            return "disk-cache", "firefox: timing.responseStart=-1 and responseHeadersSize=0"
        return "network", "firefox: network timing present"
    return "unknown", ""


def run_cache_signal(engine: Engine, via_cdp: bool) -> str:
    """Describe, for the whole run, where served_from comes from."""
    if engine == "chromium" and via_cdp:
        return (
            "chromium CDP Network.responseReceived (fromDiskCache/fromServiceWorker/fromPrefetchCache) "
            "and requestServedFromCache"
        )
    if engine == "firefox":
        return "firefox Playwright timing and header sizes (heuristic: BiDi fromCache is not exposed)"
    return "Playwright response.from_service_worker only"


def engine_notes(engine: Engine, how: str, flow: str) -> list[str]:
    """Known behaviours of this engine that shape a login of this kind."""
    notes = []
    if engine == "firefox" and "BiDi" in how and flow == "digest":
        notes.append(
            "Firefox driven over WebDriver BiDi answers Basic challenges from http_credentials but never "
            "Digest ones: the server sees no Authorization (an engine difference, not a wrong password)"
        )
    return notes


def unanswerable_schemes(engine: Engine, how: str) -> list[str]:
    """Authentication schemes this engine, launched this way, never answers from http_credentials."""
    if engine == "firefox" and "BiDi" in how:
        return ["Digest"]  # measured on ESR 153: BiDi answers Basic challenges, never Digest ones
    return []


def hidden_request_headers(engine: Engine, uses_http_credentials: bool) -> list[str]:
    """Headers this engine sends without showing them to Playwright or CDP."""
    if engine == "chromium" and uses_http_credentials:
        # Measured with Chromium 156: the challenge round trip and the Authorization header it
        # sends in answer stay inside the network stack (neither ExtraInfo event carries them).
        return ["authorization"]
    return []


def hidden_header_note(engine: Engine) -> str:
    return (
        f"{engine} answers HTTP authentication challenges inside its network stack: the 401 it answered "
        "and the Authorization it sent are not in the capture (a failure shows as "
        "net::ERR_INVALID_AUTH_CREDENTIALS with the final 401)"
    )
