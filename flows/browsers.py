"""Which engines can run here, and how: Playwright-managed builds first, system browsers as fallback."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Playwright

from loginprobe.evidence import ENGINES, Engine, EngineStatus
from loginprobe.flows.engines import INSTALL_HINTS, LaunchRecipe, find_recipe


def discover(
    playwright: Playwright, engine: Engine, override: Path | None = None, remote: str | None = None
) -> tuple[EngineStatus, LaunchRecipe | None]:
    """The status row of one engine and, when it can run, its launch recipe."""
    if remote:
        recipe = LaunchRecipe(engine, "remote (connect)", None, None, {})
        return EngineStatus(
            engine=engine, available=True, launch=f"remote Playwright server {remote}"
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


def discover_all(playwright: Playwright, overrides: dict[Engine, Path] | None = None) -> list[EngineStatus]:
    """One row per engine, for `loginprobe browsers`."""
    overrides = overrides or {}
    return [discover(playwright, engine, overrides.get(engine))[0] for engine in ENGINES]
