"""The pytest plugin is tested black-box: pytester writes a test suite and runs pytest on it."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # `pytest_plugins = ["pytester"]` is refused in a conftest below the rootdir's first level, so the
    # plugin is registered when this conftest is (its options get their defaults on registration).
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
