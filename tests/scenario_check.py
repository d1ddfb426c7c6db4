"""One check of every lab scenario (and the accuracy harness's extra probes) in every engine, fresh and
persisted, with full capture: the engine tests read its evidence and artifacts, the accuracy tests its
verdicts, and the secret scan every file it wrote. Running it once keeps the suite's browser time to
what the matrix needs (Firefox launches dominate it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from loginprobe.accuracy import ALL_SCENARIOS, Row, rows_for, scenario_sites
from loginprobe.config.settings import Settings
from loginprobe.demo import LabSite, check_scenarios
from loginprobe.evidence import ENGINES, Engine, EngineStatus, RunEvidence
from loginprobe.pipeline import Outcome


def digest(folder: Path) -> str:
    """A digest of every file's path and bytes: any change to a profile changes it."""
    sha = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        sha.update(str(path.relative_to(folder)).encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


@dataclass
class ScenarioCheck:
    results: list[tuple[list[LabSite], Outcome]]
    profiles: Path
    # Each returning browser's profile right after seeding, before any check opened a copy of it.
    profile_digest_before: dict[str, str]
    secrets: list[str]
    rows: dict[str, Row] = field(default_factory=dict)
    engines: list[Engine] = field(default_factory=lambda: list(ENGINES))

    @property
    def main(self) -> Outcome:
        """The check of every scenario that needs no proxy (the others get one check each)."""
        return self.results[0][1]

    @property
    def outcomes(self) -> list[Outcome]:
        return [outcome for _, outcome in self.results]

    def run(self, site: str, engine: Engine, mode: str = "fresh") -> RunEvidence:
        if engine not in self.engines:
            pytest.skip(f"{engine} is not in the every-scenario check: {WEBDRIVER_WEBKIT}")
        for outcome in self.outcomes:
            for run in outcome.report.runs:
                if run.site == site and run.engine == engine and run.mode == mode and run.ablation is None:
                    return run
        skipped = [
            s.reason for o in self.outcomes for s in o.report.skipped if s.site == site and s.engine == engine
        ]
        raise AssertionError(f"no {site}/{engine}/{mode} run; skipped: {skipped}")


def needs_both_modes(name: str) -> bool:
    """Controls (every flow kind in both modes) and scenarios whose returning browser carries state
    from an earlier visit (the seeded ones: stale cache, stale cookie, a stored token)."""
    scenario = ALL_SCENARIOS[name]
    return scenario.cause == "none" or scenario.seed is not None


# WebKitGTK over WebDriver shows reduced evidence (no Cookie or Set-Cookie headers), which the checks do
# not all read yet; it is tested on its own. Playwright's WebKit, where installed, joins the check.
WEBDRIVER_WEBKIT = (
    "WebKitGTK over WebDriver has its own checks: tests/test_accuracy_webkit.py, "
    "tests/flows/test_webkit_gtk.py"
)


def matrix_engines(status: dict[Engine, EngineStatus]) -> list[Engine]:
    """Engines the every-scenario check runs (an unavailable one too: the report must say why)."""
    return [e for e in ENGINES if not (status[e].available and "WebDriver" in (status[e].launch or ""))]


@contextmanager
def check_every_scenario(
    base: Path, full_matrix: bool = False, engines: list[Engine] | None = None
) -> Iterator[ScenarioCheck]:
    """Check every scenario in every engine. The other scenarios fail the same way in any context
    (credentials, scheme, key, permissions, cookie attributes, URL, proxy, server): unless
    `full_matrix`, the suite checks them fresh only, which halves its Firefox starts (each one about
    4 s of CPU here). `python -m loginprobe.accuracy` always runs the full matrix."""
    profiles = base / "profiles"
    before: dict[str, str] = {}

    def take_digests(settings: Settings) -> None:
        for path in sorted(p for p in profiles.glob("*/*") if p.is_dir()):
            before.setdefault(str(path), digest(path))

    names = list(ALL_SCENARIOS)
    both = [n for n in names if full_matrix or needs_both_modes(n)]
    fresh_only = [n for n in names if n not in both]
    common = {
        "after_seeding": take_digests,
        "browsers": engines or list(ENGINES),
        "output": base / "reports",
        "profiles_dir": profiles,
    }
    with scenario_sites(names) as sites:
        results = check_scenarios([s for s in sites if s.scenario.name in both], **common)
        if fresh_only:
            picked = [s for s in sites if s.scenario.name in fresh_only]
            results += check_scenarios(picked, modes=["fresh"], **common)
        secrets = [secret for item in sites for secret in item.lab.secrets()]
        checked = ScenarioCheck(results, profiles, before, secrets, engines=engines or list(ENGINES))
        checked.rows = {row.scenario: row for row in rows_for(results)}
        yield checked
