"""Check modules, one per cause family: evidence in, findings out. They never touch a browser."""

from __future__ import annotations

from loginprobe.checks.registry import check, registered

__all__ = ["check", "registered"]
