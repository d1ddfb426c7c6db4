"""A small registry of checks by name: the function name is the public id, duplicates are refused.

A check declares the cause it finds once, `@check(cause="stale-cache")`; while it runs, `make_finding`
(checks/common.py) reads the check's name and cause from here, so no finding restates them as strings.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from loginprobe.evidence import SiteEvidence
from loginprobe.verdict import CauseId, Finding

CheckFn = Callable[[SiteEvidence], Iterator[Finding]]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    """What a check declared about itself: its public name and the cause it finds."""

    name: str
    cause: CauseId


_CHECKS: dict[str, CheckFn] = {}
_RUNNING: ContextVar[CheckSpec | None] = ContextVar("running_check", default=None)


def check(*, cause: CauseId) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated function under its own name as the check that finds `cause`."""

    def register(fn: CheckFn) -> CheckFn:
        name = fn.__name__
        if name in _CHECKS:
            raise ValueError(f"a check named {name!r} is already registered")
        spec = CheckSpec(name=name, cause=cause)

        @functools.wraps(fn)
        def run(ev: SiteEvidence) -> Iterator[Finding]:
            # The findings are collected while the check is marked running, so a generator suspended
            # in one check never lends its name to another one's findings.
            token = _RUNNING.set(spec)
            try:
                found = list(fn(ev))
            finally:
                _RUNNING.reset(token)
            return iter(found)

        _CHECKS[name] = run
        return run

    return register


def running() -> CheckSpec:
    """The check being run; a finding made outside a registered check is a programming error."""
    spec = _RUNNING.get()
    if spec is None:
        raise RuntimeError("make_finding is only called by a registered check while it runs")
    return spec


def registered() -> dict[str, CheckFn]:
    """All registered checks, by name, in registration order."""
    return dict(_CHECKS)
