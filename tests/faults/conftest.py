"""The fault suite: the real CLI, as a subprocess, against hostile local servers and broken browsers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from loginprobe.evidence import Engine, EngineStatus
from tests.conftest import require_engine
from tests.faults.servers import FaultSite, fault_server


@pytest.fixture
def server() -> Iterator[tuple[str, FaultSite]]:
    with fault_server() as running:
        yield running


@pytest.fixture
def chromium(engine_status: dict[Engine, EngineStatus]) -> None:
    require_engine(engine_status, "chromium")


@pytest.fixture
def firefox(engine_status: dict[Engine, EngineStatus]) -> None:
    require_engine(engine_status, "firefox")


@pytest.fixture
def output(tmp_path: Path) -> Path:
    return tmp_path / "reports"
