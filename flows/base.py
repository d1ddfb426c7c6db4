"""What a flow is: a small function of a page and the site settings that logs in, and nothing else.

Capture lives in the recorder, success is decided by the runner from the protected resource: a flow
only performs the login as a user would. Flows register by kind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import Page

from loginprobe.config.settings import Site
from loginprobe.evidence import FlowKind

LoginFn = Callable[[Page, Site], None]

DEFAULT_TIMEOUT_S = 30.0
# The run's timeout, set by the probe around a flow (flows keep the `login(page, site)` signature that
# user scripts share, so the timeout travels beside it). Each lane thread has its own value.
_RUN_TIMEOUT_S: ContextVar[float] = ContextVar("loginprobe_run_timeout_s", default=DEFAULT_TIMEOUT_S)


def run_timeout_ms() -> float:
    """The current run's timeout in milliseconds: every wait a flow makes is bounded by it."""
    return _RUN_TIMEOUT_S.get() * 1000


@contextmanager
def run_timeout(seconds: float) -> Iterator[None]:
    """Run flows under `seconds` as their timeout."""
    token = _RUN_TIMEOUT_S.set(seconds)
    try:
        yield
    finally:
        _RUN_TIMEOUT_S.reset(token)


ContextOptionsFn = Callable[[Site], dict[str, Any]]


def _no_options(site: Site) -> dict[str, Any]:
    return {}


@dataclass(frozen=True, slots=True)
class Flow:
    """A login procedure, plus the context options it needs (e.g. http_credentials)."""

    kind: FlowKind
    login: LoginFn
    context_options: ContextOptionsFn = field(default=_no_options)


_FLOWS: dict[str, Flow] = {}


def register(kind: FlowKind, context_options: ContextOptionsFn = _no_options) -> Callable[[LoginFn], LoginFn]:
    """Register a login function for a flow kind; a kind is registered once."""

    def wrap(fn: LoginFn) -> LoginFn:
        if kind in _FLOWS:
            raise ValueError(f"flow {kind!r} is already registered")
        _FLOWS[kind] = Flow(kind, fn, context_options)
        return fn

    return wrap


def flow_for(site: Site) -> Flow:
    """The flow a site uses (the user's script is loaded here for kind 'script')."""
    if site.flow == "script":
        from loginprobe.flows.script import load_script_flow

        return load_script_flow(site)
    return _FLOWS[site.flow]


class FlowFailed(Exception):
    """The login could not be performed (no form, no redirect back): a failed outcome, not a crash."""
