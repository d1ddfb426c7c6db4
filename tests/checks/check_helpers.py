"""Run one check or the whole diagnosis on factory evidence (crashes raise: a crashing check is a bug)."""

from __future__ import annotations

from loginprobe.checks.registry import registered
from loginprobe.diagnose import diagnose
from loginprobe.evidence import SiteEvidence
from loginprobe.verdict import Finding, Verdict


def findings_of(check_name: str, ev: SiteEvidence) -> list[Finding]:
    return list(registered()[check_name](ev))


def verdict_of(ev: SiteEvidence) -> Verdict:
    return diagnose(ev, raise_errors=True)
