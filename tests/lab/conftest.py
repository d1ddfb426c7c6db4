"""A running lab per test (its four servers start in a few milliseconds)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loginprobe.lab.server import Lab


@pytest.fixture
def lab() -> Iterator[Lab]:
    with Lab() as running:
        yield running
