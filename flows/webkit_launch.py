"""WebKitGTK over WebDriver classic, the processes: WebKitWebDriver and loginprobe's shell found, a display,
the driver started (flows/webkit_gtk.py runs a lane on them; its docstring says how WebKit runs here)."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from loginprobe.flows.engines import LaunchRecipe
from loginprobe.flows.webdriver import Driver, WebDriverError, free_port

if TYPE_CHECKING:
    pass

HOW = "WebKitGTK over WebDriver classic (system WebKitWebDriver, loginprobe's WebKitGTK shell)"
SHELL = Path(__file__).with_name("webkit_shell.py")
SYSTEM_PYTHON = ("/usr/bin/python3",)
START_TIMEOUT_S = 20.0


# -- discovery ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _shell_python(candidates: tuple[str, ...] = SYSTEM_PYTHON) -> tuple[str, str] | str:
    """(interpreter, WebKitGTK version) of a system Python that has WebKit2GTK 4.1's bindings."""
    probe = (
        "import gi; gi.require_version('WebKit2', '4.1'); from gi.repository import WebKit2; "
        "print('%d.%d.%d' % (WebKit2.get_major_version(), WebKit2.get_minor_version(), "
        "WebKit2.get_micro_version()))"
    )
    for python in candidates:
        if not Path(python).is_file():
            continue
        try:
            done = subprocess.run(
                [python, "-c", probe], capture_output=True, text=True, timeout=20, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0 and done.stdout.strip():
            return python, done.stdout.strip()
    return "no system Python with WebKitGTK's bindings (python3-gi, gir1.2-webkit2-4.1)"


def find_recipe() -> LaunchRecipe | str:
    """The WebDriver recipe for WebKitGTK, or why it cannot run here."""
    driver = shutil.which("WebKitWebDriver")
    if driver is None:
        return (
            "Playwright's WebKit build is not installed, and neither is WebKitGTK's WebKitWebDriver "
            "(Debian: webkit2gtk-driver)"
        )
    python = _shell_python()
    if isinstance(python, str):
        return f"Playwright's WebKit build is not installed, and WebKitGTK cannot run: {python}"
    xvfb = shutil.which("Xvfb")
    if xvfb is None and not os.environ.get("DISPLAY"):
        return "Playwright's WebKit build is not installed, and WebKitGTK needs a display: install xvfb"
    interpreter, version = python
    options = {"webdriver": driver, "python": interpreter, "xvfb": xvfb}
    # The executable shown is the shell (it prints the WebKitGTK version when asked); the driver starts it.
    return LaunchRecipe("webkit", HOW, str(SHELL), version, options)


def is_webdriver_recipe(recipe: LaunchRecipe | None) -> bool:
    """This recipe runs WebKit through this module rather than Playwright."""
    return recipe is not None and recipe.engine == "webkit" and recipe.how == HOW


# -- the lane's processes -----------------------------------------------------------------------


@contextmanager
def _display(recipe: LaunchRecipe, headless: bool) -> Iterator[str]:
    """An X display for the browser: a private Xvfb (headless), else the desktop's."""
    if not headless and os.environ.get("DISPLAY"):
        yield os.environ["DISPLAY"]
        return
    xvfb = recipe.options.get("xvfb")
    if not xvfb:
        yield os.environ.get("DISPLAY", "")
        return
    read, write = os.pipe()
    process = subprocess.Popen(
        [xvfb, "-displayfd", str(write), "-nolisten", "tcp", "-screen", "0", "1280x800x24"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        number = b""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not number.endswith(b"\n") and time.monotonic() < deadline:
            chunk = os.read(read, 16)  # Xvfb writes the display number, then a newline, once ready
            if not chunk:
                break
            number += chunk
        if not number.strip():
            raise WebDriverError("no display", "Xvfb did not start")
        yield f":{number.decode().strip()}"
    finally:
        os.close(read)
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextmanager
def webdriver_service(recipe: LaunchRecipe, headless: bool, log_dir: Path) -> Iterator[Driver]:
    """Xvfb plus WebKitWebDriver on a free loopback port, stopped on exit."""
    with _display(recipe, headless) as display:
        port = free_port()
        log = open(log_dir / "webkitwebdriver.log", "wb")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(
            [str(recipe.options["webdriver"]), f"--port={port}", "--host=local"],
            env={**os.environ, "DISPLAY": display},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            driver = Driver(f"http://127.0.0.1:{port}")
            driver.wait_ready(START_TIMEOUT_S)
            yield driver
        finally:
            _stop(process)
            log.close()
