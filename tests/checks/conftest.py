"""Check tests: evidence in, findings out, no browser."""

from __future__ import annotations

import pytest

import loginprobe.diagnose  # noqa: F401  (registers every check)
from loginprobe.checks.registry import registered


@pytest.fixture(autouse=True)
def _checks_loaded() -> None:
    assert registered(), "importing loginprobe.diagnose registers every check"
