"""Check tests: evidence in, findings out, no browser."""

from __future__ import annotations

import pytest
from loginprobe.checks.registry import registered

from loginprobe.diagnose import diagnose
from loginprobe.evidence import SiteEvidence
from loginprobe.verdict import Finding, Verdict


def findings_of(check_name: str, ev: SiteEvidence) -> list[Finding]:
    """Run one registered check (a crash raises: a crashing check is a bug)."""
    return list(registered()[check_name](ev))


def verdict_of(ev: SiteEvidence) -> Verdict:
    return diagnose(ev, raise_errors=True)


@pytest.fixture(autouse=True)
def _checks_loaded() -> None:
    assert registered(), "importing loginprobe.diagnose registers every check"
