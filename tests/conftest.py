"""Shared test set-up: a clean environment, and which engines can really run on this machine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from loginprobe.evidence import ENGINES, Engine, EngineStatus


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--full-matrix",
        action="store_true",
        help="check every lab scenario in both modes (the default checks the context-independent "
        "failures fresh only; about twice the browser time)",
    )


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No LOGINPROBE_* variable or .env of the developer's leaks into a test."""
    for name in list(os.environ):
        if name.startswith("LOGINPROBE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


def _discover() -> dict[Engine, EngineStatus]:
    from playwright.sync_api import sync_playwright

    from loginprobe.flows.browsers import discover

    with sync_playwright() as playwright:
        return {engine: discover(playwright, engine)[0] for engine in ENGINES}


@pytest.fixture(scope="session")
def engine_status() -> dict[Engine, EngineStatus]:
    """Each engine's availability here (discovered in a thread: the sync API owns its thread)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_discover).result()


@pytest.fixture(scope="session")
def engines_here(engine_status: dict[Engine, EngineStatus]) -> list[Engine]:
    available = [engine for engine, status in engine_status.items() if status.available]
    if not available:
        pytest.skip("no browser engine is installed here")
    return available


def require_engine(engine_status: dict[Engine, EngineStatus], engine: Engine) -> None:
    """Skip, with the discovery's own reason, when an engine cannot run here (WebKit on Debian)."""
    status = engine_status[engine]
    if not status.available:
        pytest.skip(f"{engine} unavailable: {status.reason}")


@pytest.fixture(scope="session")
def chromium_options() -> dict[str, object]:
    """Launch keywords for Chromium as loginprobe finds it here (managed build first); skips if absent."""
    from playwright.sync_api import sync_playwright

    from loginprobe.flows.browsers import launch_options

    with ThreadPoolExecutor(1) as pool:  # the sync API owns its thread

        def find() -> dict[str, object] | str:
            with sync_playwright() as playwright:
                try:
                    return launch_options(playwright, "chromium")
                except LookupError as exc:
                    return str(exc)

        found = pool.submit(find).result()
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture(scope="session")
def every_scenario(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    engine_status: dict[Engine, EngineStatus],
) -> Iterator[object]:
    """The one check of every lab scenario the engine, accuracy and secret-scan tests share."""
    from tests.scenario_check import check_every_scenario, matrix_engines

    # The autouse clean_environment fixture is function-scoped; do its job for this session-wide run.
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("LOGINPROBE_"):
                mp.delenv(name)
        mp.chdir(tmp_path_factory.mktemp("every-scenario-cwd"))
        full = bool(request.config.getoption("--full-matrix"))
        engines = matrix_engines(engine_status)
        with check_every_scenario(tmp_path_factory.mktemp("every-scenario"), full, engines) as checked:
            yield checked
