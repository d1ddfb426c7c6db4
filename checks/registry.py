"""A small registry of checks by name: the function name is the public id, duplicates are refused."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from loginprobe.evidence import SiteEvidence
from loginprobe.verdict import Finding

CheckFn = Callable[[SiteEvidence], Iterator[Finding]]

_CHECKS: dict[str, CheckFn] = {}


def check(fn: CheckFn) -> CheckFn:
    """Register `fn` under its own name; a second check of the same name is a programming error."""
    name = fn.__name__
    if name in _CHECKS:
        raise ValueError(f"a check named {name!r} is already registered")
    _CHECKS[name] = fn
    return fn


def registered() -> dict[str, CheckFn]:
    """All registered checks, by name, in registration order."""
    return dict(_CHECKS)
