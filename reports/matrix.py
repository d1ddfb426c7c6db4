"""The site x engine x mode matrix every renderer shows: one cell per planned run, never re-diagnosed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from loginprobe.evidence import ENGINES, MODES, Engine, Mode, RunEvidence
from loginprobe.report import Report
from loginprobe.verdict import CAUSES, Verdict

State = Literal["pass", "fail", "unavailable", "not-run"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One site x engine x mode: its state, a one-line detail, and the plain run when there is one."""

    site: str
    engine: Engine
    mode: Mode
    state: State
    detail: str
    run: RunEvidence | None = None

    @property
    def status(self) -> int | None:
        return self.run.outcome.status if self.run else None

    @property
    def label(self) -> str:
        return f"{self.engine}-{self.mode}"


def engines_of(report: Report) -> list[Engine]:
    """Engines that were asked for (they ran or were skipped), in a stable order; never the engines
    `report.engines` only lists because this machine was asked about them."""
    seen = {run.engine for run in report.runs} | {skip.engine for skip in report.skipped}
    return [engine for engine in ENGINES if engine in seen]


def engines_ran(report: Report) -> list[Engine]:
    """Engines asked for that ran at least once (the terminal's columns)."""
    seen = {run.engine for run in report.runs}
    return [engine for engine in engines_of(report) if engine in seen]


def engines_unavailable(report: Report) -> list[tuple[Engine, str]]:
    """Engines asked for that never ran, with why (the terminal's one-line footnote)."""
    status = {e.engine: e for e in report.engines}
    out = []
    for engine in engines_of(report):
        if engine in engines_ran(report):
            continue
        known = status.get(engine)
        reason = known.reason if known is not None and known.reason else None
        if reason is None:
            reason = next((s.reason for s in report.skipped if s.engine == engine), "not run")
        out.append((engine, reason))
    return out


def modes_of(report: Report) -> list[Mode]:
    """Modes that were planned (run or skipped), in pipeline order."""
    seen = {run.mode for run in report.runs} | {skip.mode for skip in report.skipped}
    return [mode for mode in MODES if mode in seen] or ["fresh"]


def plain_run(report: Report, site: str, engine: Engine, mode: Mode) -> RunEvidence | None:
    """The run of a cell without ablation or proxy (the one the matrix shows)."""
    for run in report.runs:
        same_cell = (run.site, run.engine, run.mode) == (site, engine, mode)
        if same_cell and run.ablation is None and not run.via_proxy:
            return run
    return None


def cell(report: Report, site: str, engine: Engine, mode: Mode) -> Cell:
    """The state of one cell, from runs, skipped runs and engine availability."""
    run = plain_run(report, site, engine, mode)
    if run is not None:
        state: State = "pass" if run.outcome.success else "fail"
        return Cell(site, engine, mode, state, run.outcome.reason, run)
    for skip in report.skipped:
        if (skip.site, skip.engine, skip.mode) == (site, engine, mode):
            return Cell(site, engine, mode, "unavailable", skip.reason)
    for status in report.engines:
        if status.engine == engine and not status.available:
            return Cell(site, engine, mode, "unavailable", status.reason or "engine unavailable")
    if f"{site}-{engine}-{mode}" in report.missing or report.interrupted:
        return Cell(site, engine, mode, "not-run", "interrupted before this run finished")
    return Cell(site, engine, mode, "not-run", "not planned")


def matrix(report: Report) -> list[Cell]:
    """Every cell, site by site, engine by engine, mode by mode."""
    return [
        cell(report, site, engine, mode)
        for site in report.sites
        for engine in engines_of(report)
        for mode in modes_of(report)
    ]


def verdict_for(report: Report, site: str) -> Verdict | None:
    """The verdict of a site, if the diagnosis produced one."""
    return next((v for v in report.verdicts if v.site == site), None)


def cause_text(cause: str) -> str:
    """The public one-line meaning of a cause id."""
    return CAUSES.get(cause, cause)


def failing_sites(report: Report) -> list[str]:
    """Sites with at least one failing cell or a verdict naming a cause."""
    failing = {c.site for c in matrix(report) if c.state == "fail"}
    failing |= {v.site for v in report.verdicts if v.primary != "none"}
    return [site for site in report.sites if site in failing]


def unchecked_sites(report: Report) -> list[str]:
    """Sites no run was recorded for (every engine skipped, unavailable or interrupted)."""
    ran = {run.site for run in report.runs}
    return [site for site in report.sites if site not in ran]


def headline(report: Report) -> str:
    """`1 of 2 sites failing` or `all 2 sites pass`; sites that no run checked are said apart, never
    counted as passing."""
    unchecked = unchecked_sites(report)
    failing = [site for site in failing_sites(report) if site not in unchecked]
    checked = len(report.sites) - len(unchecked)
    if failing:
        text = f"{len(failing)} of {len(report.sites)} sites failing"
        text = "the site is failing" if len(report.sites) == 1 else text
    elif checked:
        text = f"all {checked} sites pass" if not unchecked else f"all {checked} checked sites pass"
        text = text.replace("all 1 ", "the ").replace("sites pass", "site passes") if checked == 1 else text
    else:
        count = len(report.sites)
        return f"no run was recorded for {'the site' if count == 1 else f'any of the {count} sites'}"
    if unchecked:
        text += f"; {len(unchecked)} not checked (no run recorded)"
    return text
