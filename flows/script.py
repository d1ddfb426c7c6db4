"""The user's own login: a Python file that defines `login(page, site)` (and optionally
`context_options(site) -> dict`), loaded by path."""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from loginprobe.config.settings import Site
from loginprobe.errors import ConfigError
from loginprobe.flows.base import Flow, _no_options


def load_script_flow(site: Site) -> Flow:
    """Import the site's script and wrap its `login` as a flow; a bad script is a config error."""
    assert site.script is not None  # guaranteed by Site validation
    path = site.script.resolve()
    module_name = f"loginprobe_user_flow_{site.name.replace('-', '_').replace('.', '_')}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"sites.{site.name}.script: cannot load {path} as Python")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # any error in user code at import time is the user's config problem
        raise ConfigError(
            f"sites.{site.name}.script: {path} failed to import: {type(exc).__name__}: {exc}"
        ) from None
    sys.modules.setdefault(module_name, module)
    login = getattr(module, "login", None)
    if not callable(login):
        raise ConfigError(f"sites.{site.name}.script: {path} defines no function login(page, site)")
    options: Any = getattr(module, "context_options", _no_options)
    if not callable(options):
        raise ConfigError(f"sites.{site.name}.script: context_options in {path} is not a function")
    return Flow("script", login, options)
