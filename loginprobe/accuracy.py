"""How right is the diagnosis? Run lab scenarios in real browsers and compare each verdict's primary
cause with the cause the scenario was built to have.

`python -m loginprobe.accuracy [SCENARIO ...] [--browser chromium] [--markdown] [--output DIR]` prints
one row per scenario (plus the cause each engine's runs alone point to) and exits 1 when a row is wrong.
`--from-reports DIR` re-diagnoses report folders written earlier (no browser), which is how a change to
a check is tried against real evidence in seconds.

The harness knows the expected cause only to compare; the diagnosis never sees it.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loginprobe.evidence import Engine, SiteEvidence
from loginprobe.lab.scenarios import BOTH, SCENARIOS, Scenario, bearer, http_auth
from loginprobe.report import Report
from loginprobe.verdict import Verdict

if TYPE_CHECKING:
    from loginprobe.demo import LabSite
    from loginprobe.pipeline import Outcome


# Probes beyond the lab's scenario table, built from its existing switches: failures whose real evidence
# differs most between engines (Chromium answers HTTP authentication inside its network stack, so the
# Authorization it sent is not in the capture; Firefox over BiDi never answers Digest).
EXTRA_SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "invalid-credentials-basic",
            "invalid-credentials",
            "HTTP Basic whose password was changed on the server.",
            http_auth("basic", "/basic/"),
            probe={"password_rotated": True},
            modes=BOTH,
        ),
        Scenario(
            "invalid-credentials-digest",
            "invalid-credentials",
            "HTTP Digest whose password was changed on the server (Firefox cannot answer Digest).",
            http_auth("digest", "/digest/"),
            probe={"password_rotated": True},
            modes=BOTH,
        ),
        Scenario(
            "server-misconfiguration-flapping-bearer",
            "server-misconfiguration",
            "One node refuses valid bearer tokens: every other request to the API gets 401.",
            bearer(),
            probe={"flapping": True},
        ),
    )
}
ALL_SCENARIOS: dict[str, Scenario] = {**SCENARIOS, **EXTRA_SCENARIOS}

# The evidence item a scenario's cause can only be read from. An engine whose runs list that item in
# `not_observable` (WebKitGTK over WebDriver: WebKit adds Cookie and strips Set-Cookie out of sight)
# owes an honest `unknown` that says so, never a guess; the table marks such a cell "not observable".
NEEDS: dict[str, tuple[str, str]] = {
    "cookie-blocked-domain": ("set_cookies", "the Set-Cookie header the browser refused"),
    "cookie-blocked-samesite-oidc": ("cookies_sent", "which cookies the provider's callback carried"),
    "server-misconfiguration-flapping": (
        "cookies_sent",
        "that the success and the refusal carried the same session cookie",
    ),
}


@dataclass(slots=True)
class Row:
    """One scenario: what it was built to show and what loginprobe made of it."""

    scenario: str
    expected: str
    diagnosed: str
    engines_failing: list[str]
    correct: bool
    # The primary cause each engine's runs alone lead to (the same diagnosis on one engine's runs).
    per_engine: dict[str, str] = field(default_factory=dict)
    # Engines that cannot observe what this scenario's cause is read from (see NEEDS), and said so.
    blind: list[str] = field(default_factory=list)
    summary: str = ""
    next_step: str = ""
    report: Path | None = None


def _diagnose(ev: SiteEvidence) -> Verdict:
    from loginprobe.diagnose import diagnose

    return diagnose(ev)


def row_for(scenario: str, report: Report | SiteEvidence, folder: Path | None = None) -> Row:
    """Compare the diagnosis of `scenario`'s evidence in `report` with what the scenario expects."""
    expected = ALL_SCENARIOS[scenario].cause
    ev = report.site_evidence(scenario) if isinstance(report, Report) else report
    verdict = _diagnose(ev)
    engines: list[Engine] = sorted({r.engine for r in ev.runs})
    per_engine = {
        engine: _diagnose(SiteEvidence(site=scenario, runs=[r for r in ev.runs if r.engine == engine]))
        for engine in engines
    }
    needed = NEEDS.get(scenario, ("", ""))[0]
    blind: list[str] = [
        engine
        for engine, v in per_engine.items()
        if v.primary == "unknown"
        and all(needed in r.not_observable for r in ev.runs if r.engine == engine)
        and "could not observe" in v.summary
    ]
    honest_unknown = verdict.primary == "unknown" and bool(engines) and blind == list(engines)
    return Row(
        scenario=scenario,
        expected=expected,
        diagnosed=verdict.primary,
        engines_failing=list(verdict.engines_failing),
        correct=(verdict.primary == expected or honest_unknown) and bool(ev.runs),
        per_engine={engine: v.primary for engine, v in per_engine.items()},
        blind=blind,
        summary=verdict.summary,
        next_step=verdict.next_step,
        report=folder,
    )


@contextmanager
def scenario_sites(names: Sequence[str]) -> Iterator[list[LabSite]]:
    """One lab per scenario, the table's and the extra probes alike (raises ValueError for unknown)."""
    from loginprobe.demo import lab_sites

    unknown = [name for name in names if name not in ALL_SCENARIOS]
    if unknown:
        raise ValueError(f"unknown scenario {', '.join(unknown)}")
    with lab_sites([n for n in names if n in SCENARIOS]) as sites, ExitStack() as extra:
        for name in names:
            if name in EXTRA_SCENARIOS:
                sites.append(_extra_site(EXTRA_SCENARIOS[name], extra))
        order = list(names)
        sites.sort(key=lambda item: order.index(item.scenario.name))
        yield sites


def rows_for(results: Sequence[tuple[list[LabSite], Outcome]], keep_folders: bool = True) -> list[Row]:
    """One row per checked scenario, in the order they were given."""
    return [
        row_for(item.scenario.name, outcome.report, outcome.folder if keep_folders else None)
        for group, outcome in results
        for item in group
    ]


def run_accuracy(
    scenario_names: Sequence[str] | None = None,
    browsers: Sequence[str] = ("chromium", "firefox"),
    output: Path | None = None,
    **overrides: Any,
) -> list[Row]:
    """Check the scenarios (all by default) in real browsers and compare each verdict with its cause.

    One `check_scenarios` call: every non-proxy scenario in one check, each proxy scenario in its own.
    Reports go to `output` (kept) or a temporary folder (removed); profiles always to a temporary one.
    """
    from loginprobe.demo import check_scenarios

    names = list(scenario_names or ALL_SCENARIOS)
    scratch = Path(tempfile.mkdtemp(prefix="loginprobe-accuracy-"))
    reports = output if output is not None else scratch / "reports"
    try:
        with scenario_sites(names) as sites:
            results = check_scenarios(
                sites,
                browsers=list(browsers),
                output=reports,
                profiles_dir=scratch / "profiles",
                **overrides,
            )
        rows = {row.scenario: row for row in rows_for(results, keep_folders=output is not None)}
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return [rows[name] for name in names if name in rows]


def _extra_site(scenario: Scenario, stack: ExitStack) -> LabSite:
    """A probe on its own lab instance, as `lab_sites` starts the table's scenarios."""
    from loginprobe.config.settings import Site
    from loginprobe.demo import LabSite
    from loginprobe.lab.server import Lab

    lab = stack.enter_context(Lab())
    return LabSite(scenario, lab, Site(**{"name": scenario.name, **scenario.site(lab)}))


def rows_from_reports(folders: Sequence[Path], scenario_names: Sequence[str] | None = None) -> list[Row]:
    """Re-diagnose earlier report folders (every scenario site found in them, or the named ones)."""
    runs: dict[str, SiteEvidence] = {}
    where: dict[str, Path] = {}
    for folder in folders:
        report = Report.load(folder)
        for site in report.sites:
            if site in ALL_SCENARIOS and (not scenario_names or site in scenario_names):
                # Folders of several engines (a WebKit run beside a Chromium/Firefox one) join into one row.
                ev = runs.setdefault(site, SiteEvidence(site=site, runs=[]))
                ev.runs.extend(report.site_evidence(site).runs)
                where.setdefault(site, folder)
    order = list(ALL_SCENARIOS)
    rows = [row_for(site, ev, where[site]) for site, ev in runs.items()]
    return sorted(rows, key=lambda row: order.index(row.scenario))


def markdown_table(rows: Sequence[Row]) -> str:
    """The rows as a Markdown table, one column per engine seen."""
    engines = sorted({engine for row in rows for engine in row.per_engine})
    head = ["scenario", "expected", "diagnosed", *engines, "engines failing", "ok"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [
            row.scenario,
            row.expected,
            row.diagnosed,
            *(_engine_cell(row, engine) for engine in engines),
            ", ".join(row.engines_failing) or "-",
            ("yes" if row.diagnosed == row.expected else "yes (not observable)") if row.correct else "**NO**",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    right = sum(row.correct for row in rows)
    lines.append("")
    lines.append(f"{right}/{len(rows)} scenarios diagnosed as built.")
    blind = [row for row in rows if row.blind]
    if blind:
        lines.append("")
        lines.append("Not observable (the verdict says so instead of guessing):")
        lines += [f"- {row.scenario} in {', '.join(row.blind)}: {NEEDS[row.scenario][1]}." for row in blind]
    return "\n".join(lines)


def _engine_cell(row: Row, engine: str) -> str:
    cause = row.per_engine.get(engine, "-")
    return f"{cause} (not observable)" if engine in row.blind else cause


def _plain(rows: Sequence[Row], verbose: bool) -> str:
    out = []
    for row in rows:
        mark = "ok  " if row.correct else "FAIL"
        engines = ", ".join(f"{e}={c}" for e, c in row.per_engine.items())
        out.append(f"{mark} {row.scenario:40} expected {row.expected:26} got {row.diagnosed:26} [{engines}]")
        if verbose or not row.correct:
            out.append(f"       summary: {row.summary}")
            out.append(f"       next:    {row.next_step}")
            if row.report is not None:
                out.append(f"       report:  {row.report}")
    out.append(f"{sum(r.correct for r in rows)}/{len(rows)} scenarios diagnosed as built.")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loginprobe.accuracy", description=__doc__.split("\n")[0])
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="lab scenarios (default: all)")
    parser.add_argument("--browser", action="append", dest="browsers", help="engine (repeatable)")
    parser.add_argument("--output", type=Path, help="keep the report folders here")
    parser.add_argument("--from-reports", type=Path, nargs="+", help="re-diagnose these report folders")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--verbose", action="store_true", help="print every verdict's summary")
    args = parser.parse_args(argv)
    unknown = [name for name in args.scenarios if name not in ALL_SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario {', '.join(unknown)}; known: {', '.join(ALL_SCENARIOS)}")
    if args.from_reports:
        rows = rows_from_reports(args.from_reports, args.scenarios or None)
    else:
        rows = run_accuracy(
            args.scenarios or None, tuple(args.browsers or ("chromium", "firefox")), args.output
        )
    print(markdown_table(rows) if args.markdown else _plain(rows, args.verbose))
    return 0 if rows and all(row.correct for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
