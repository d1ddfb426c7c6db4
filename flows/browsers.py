"""Which engines can run here, and how: Playwright-managed builds first, system browsers as fallback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Playwright

from loginprobe.evidence import ENGINES, Engine, EngineStatus
from loginprobe.flows.engines import INSTALL_HINTS, LaunchRecipe, find_recipe, version_of


def discover(
    playwright: Playwright, engine: Engine, override: Path | None = None, remote: str | None = None
) -> tuple[EngineStatus, LaunchRecipe | None]:
    """The status row of one engine and, when it can run, its launch recipe."""
    if remote:
        recipe = remote_recipe(engine, override)
        launch = f"remote Playwright server {remote}"
        if recipe.executable:
            launch += f" (executable on the server: {recipe.executable})"
        return EngineStatus(
            engine=engine, available=True, launch=launch, executable=recipe.executable
        ), recipe
    try:
        managed = getattr(playwright, engine).executable_path
    except Exception:
        managed = None
    found = find_recipe(engine, managed, override)
    if isinstance(found, str):
        status = EngineStatus(
            engine=engine, available=False, reason=found, install_hint=INSTALL_HINTS[engine]
        )
        return status, None
    status = EngineStatus(
        engine=engine, available=True, version=found.version, launch=found.how, executable=found.executable
    )
    return status, found


def remote_recipe(engine: Engine, executable: Path | None = None) -> LaunchRecipe:
    """How a remote Playwright server should launch the engine (see flows/remote.py).

    Without an executable the server uses its own managed build. An executable is a path on the
    server, which `playwright run-server` honours only when started with `--unsafe`; Firefox that is
    not Playwright's build is driven over WebDriver BiDi there too.
    """
    options: dict[str, Any] = {}
    if executable is not None:
        options["executable_path"] = str(executable)
        if engine == "firefox":
            options["channel"] = "moz-firefox"
    return LaunchRecipe(engine, "remote (connect)", str(executable) if executable else None, None, options)


def discover_all(playwright: Playwright, overrides: dict[Engine, Path] | None = None) -> list[EngineStatus]:
    """One row per engine, for `loginprobe browsers`."""
    overrides = overrides or {}
    rows = []
    for engine in ENGINES:
        status = discover(playwright, engine, overrides.get(engine))[0]
        if status.available and status.version is None and status.executable:
            # A check learns the version from the launched browser; this table asks the binary.
            status = status.model_copy(update={"version": version_of(status.executable)})
        rows.append(status)
    return rows


def launch_options(playwright: Playwright, engine: Engine) -> dict[str, Any]:
    """Keyword arguments for `playwright.<engine>.launch()` as loginprobe would launch it here.

    Raises LookupError (with the reason) when the engine cannot run here.
    """
    status, recipe = discover(playwright, engine)
    if recipe is None:
        raise LookupError(f"{engine} unavailable: {status.reason}")
    return recipe.launch_options()
