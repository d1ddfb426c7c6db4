"""`loginprobe demo` and the scenario harness the tests share: start lab sites, let time pass for the
returning browsers (seed their profiles under the scenario's earlier server state), then check them.

The harness knows each scenario's expected cause only to print it beside the diagnosis; the
diagnosis itself never sees it (checks read evidence only).
"""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from loginprobe.config.loading import load_settings
from loginprobe.config.settings import Settings, Site
from loginprobe.errors import ConfigError
from loginprobe.flows.runner import ProgressFn
from loginprobe.lab.scenarios import SCENARIOS, Scenario
from loginprobe.lab.server import Lab
from loginprobe.pipeline import Outcome, plan, run_check
from loginprobe.secrets import Redactor

# A few representative healthy and broken logins: one per flow kind among the controls, and the
# three big causes (stale cache, stale cookie, credentials) among the failures.
DEMO_SCENARIOS = (
    "control-form",
    "control-oidc",
    "stale-cache-http",
    "stale-cookie-session-lost",
    "expired-token",
    "wrong-auth-scheme",
)


@dataclass(slots=True)
class LabSite:
    """One scenario on its own lab instance."""

    scenario: Scenario
    lab: Lab
    site: Site


@contextmanager
def lab_sites(names: Sequence[str]) -> Iterator[list[LabSite]]:
    """Start one lab per scenario (separate origins: no state leaks between scenarios)."""
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise ConfigError(f"--scenario: unknown {', '.join(unknown)}; known: {', '.join(SCENARIOS)}")
    with ExitStack() as stack:
        sites = []
        for name in names:
            scenario = SCENARIOS[name]
            lab = stack.enter_context(Lab())
            sites.append(LabSite(scenario, lab, Site(**{"name": scenario.name, **scenario.site(lab)})))
        yield sites


def seed_profiles(sites: list[LabSite], base: Settings) -> None:
    """Create the returning browsers' profiles while each lab is in its scenario's earlier state."""
    from loginprobe.flows.runner import Runner

    seeded = [s for s in sites if s.scenario.seed is not None]
    if not seeded or "persisted" not in base.modes:
        return
    for item in seeded:
        item.lab.apply(**(item.scenario.seed or {}))
    settings = base.model_copy(
        update={
            "sites": [s.site for s in seeded],
            "modes": ["persisted"],
            "capture": False,
            "ablate": False,
            "proxy": None,
        }
    )
    scratch = Path(tempfile.mkdtemp(prefix="loginprobe-seed-"))
    runner = Runner(settings, Redactor(), scratch)
    try:
        runner.run(plan(settings))
        runner.commit_profiles()
    finally:
        runner.cleanup()
        shutil.rmtree(scratch, ignore_errors=True)


# What shows a check's progress (the CLI's bar in a terminal, one line per run in a CI log).
Live = Callable[[Settings], AbstractContextManager[ProgressFn]]


def check_scenarios(
    sites: list[LabSite],
    *,
    after_seeding: Callable[[Settings], None] | None = None,
    live: Live | None = None,
    **overrides: Any,
) -> list[tuple[list[LabSite], Outcome]]:
    """Seed, switch every lab to its probed state, and check; a proxy scenario gets its own check.

    `after_seeding` sees each group's settings once its returning browsers' profiles exist (tests
    take the profiles' digests there, to show the check never modifies them).
    """
    groups: list[list[LabSite]] = [[s for s in sites if not s.scenario.use_proxy]]
    groups += [[s] for s in sites if s.scenario.use_proxy]
    results = []
    for group in groups:
        if not group:
            continue
        proxy = group[0].lab.proxy_url if group[0].scenario.use_proxy else None
        settings = load_settings(None, sites=[s.site for s in group], proxy=proxy, **overrides)
        seed_profiles(group, settings)
        if after_seeding is not None:
            after_seeding(settings)
        for item in group:
            item.lab.apply(**item.scenario.probe)
        if live is None:
            results.append((group, run_check(settings)))
        else:
            with live(settings) as progress:
                results.append((group, run_check(settings, progress=progress)))
    return results


def accuracy_lines(results: list[tuple[list[LabSite], Outcome]], width: int) -> list[Text]:
    """Scenario by scenario: what the lab did, the cause it was built for, and what was diagnosed.

    Plain lines wrapped to the width (a CI log's 80 columns too): names and cause ids are never cut.
    """
    lines = [Text("Each lab scenario, the cause it was built for, and what the lab did:")]
    for group, outcome in results:
        verdicts = {v.site: v for v in outcome.report.verdicts}
        for item in group:
            verdict = verdicts.get(item.site.name)
            diagnosed = verdict.primary if verdict else "no verdict"
            right = diagnosed == item.scenario.cause
            line = Text(f"{'ok' if right else 'WRONG'} ", style="green" if right else "bold red")
            line.append(item.scenario.name, style="bold")
            line.append(f": {item.scenario.cause}" if right else f": expected {item.scenario.cause}, ")
            if not right:
                line.append(f"diagnosed {diagnosed}", style="red")
            if verdict and verdict.engines_failing:
                line.append(f" (failing in {', '.join(verdict.engines_failing)})")
            lines.append(line)
            about = textwrap.wrap(item.scenario.description, width=max(width - 4, 40), break_on_hyphens=False)
            lines += [Text(f"    {row}", style="dim") for row in about]
    return lines


def run_demo(
    *,
    browsers: list[str] | None,
    output: Path | None,
    workers: int | None,
    scenarios: list[str] | None,
    console: Console,
    live: Live | None = None,
) -> int:
    """Start the lab, check a few healthy and broken logins, print the diagnosis; returns the exit code."""
    from loginprobe.reports.terminal import print_summary

    names = scenarios or list(DEMO_SCENARIOS)
    profiles = Path(tempfile.mkdtemp(prefix="loginprobe-demo-profiles-"))
    try:
        with lab_sites(names) as sites:
            console.print(f"lab: {len(sites)} scenario sites on 127.0.0.1, identity provider on localhost")
            seeded = sum(s.scenario.seed is not None for s in sites)
            if seeded:  # browser work before the check's first progress line: say what it is
                sites_text = f"{seeded} site{'s' if seeded != 1 else ''}"
                console.print(f"seeding the returning browsers of {sites_text} (their earlier visit) first")
            results = check_scenarios(
                sites, live=live, browsers=browsers, output=output, workers=workers, profiles_dir=profiles
            )
    finally:
        shutil.rmtree(profiles, ignore_errors=True)
    for _group, outcome in results:
        print_summary(outcome.report, console)
        console.print(f"report: {outcome.folder / 'report.html'}", highlight=False)
    for line in accuracy_lines(results, console.width):
        console.print(line, highlight=False)
    expected_right = all(
        {v.site: v.primary for v in outcome.report.verdicts}.get(item.site.name) == item.scenario.cause
        for group, outcome in results
        for item in group
    )
    ran = any(outcome.report.runs for _g, outcome in results)
    # The demo succeeds when every scenario was diagnosed as the lab set it up; failing logins are
    # the point of the demo, not an error.
    return 0 if ran and expected_right else (3 if not ran else 1)
