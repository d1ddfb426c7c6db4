"""What changed between two runs: "it worked yesterday" (two reports) or browser vs browser (one report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from rich.console import Console
from rich.table import Table

from loginprobe.evidence import Engine, EngineStatus
from loginprobe.report import Report
from loginprobe.reports.diff import cookie_differences, header_differences
from loginprobe.reports.markdown import md
from loginprobe.reports.matrix import Cell, cell, engines_of, modes_of

Category = Literal["engine", "outcome", "status", "cookie", "header", "verdict"]


@dataclass(frozen=True, slots=True)
class Change:
    """One thing that differs: where (site/engine/mode), what, and its two values."""

    category: Category
    where: str
    what: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class Comparison:
    """The changes from side `a` to side `b`, with a label for each side."""

    a: str
    b: str
    changes: list[Change] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.changes

    def of(self, category: Category) -> list[Change]:
        """The changes of one category."""
        return [c for c in self.changes if c.category == category]


def _engine_text(status: EngineStatus | None) -> str:
    if status is None:
        return "not listed"
    if status.available:
        return f"available {status.version or ''}".strip()
    return f"unavailable: {status.reason or 'no reason given'}"


def _cells(where: str, a: Cell, b: Cell, *, with_values: bool = False) -> list[Change]:
    """Outcome, status, cookies and protected-request headers of two matrix cells."""
    changes = []
    if a.state != b.state:
        before, after = f"{a.state}: {a.detail}", f"{b.state}: {b.detail}"
        changes.append(Change("outcome", where, "outcome", before, after))
    if a.run and b.run and a.status != b.status:
        changes.append(Change("status", where, "protected status", str(a.status), str(b.status)))
    if a.run and b.run:
        # Across reports values differ on every login, so names and attributes are what "it worked
        # yesterday" needs; within one report a differing fingerprint is a different cookie.
        for d in cookie_differences(a.run, b.run, with_values=with_values):
            changes.append(Change("cookie", where, f"{d.kind} {d.key}", d.before, d.after))
        for d in header_differences(a.run, b.run):
            changes.append(Change("header", where, f"{d.kind} {d.key}", d.before, d.after))
    return changes


def compare(a: Report, b: Report) -> Comparison:
    """Every difference between two reports: engines, outcomes, cookies, headers and verdicts."""
    result = Comparison(a=f"{a.created_at:%Y-%m-%d %H:%M:%SZ}", b=f"{b.created_at:%Y-%m-%d %H:%M:%SZ}")
    engines_a = {e.engine: e for e in a.engines}
    engines_b = {e.engine: e for e in b.engines}
    for engine in sorted(engines_a.keys() | engines_b.keys()):
        before, after = _engine_text(engines_a.get(engine)), _engine_text(engines_b.get(engine))
        if before != after:
            result.changes.append(Change("engine", engine, "engine", before, after))
    sites = a.sites + [s for s in b.sites if s not in a.sites]
    engines = list(dict.fromkeys(engines_of(a) + engines_of(b)))
    modes = list(dict.fromkeys(modes_of(a) + modes_of(b)))
    for site in sites:
        for engine in engines:
            for mode in modes:
                where = f"{site} {engine}/{mode}"
                result.changes.extend(_cells(where, cell(a, site, engine, mode), cell(b, site, engine, mode)))
        verdict_a = next((v for v in a.verdicts if v.site == site), None)
        verdict_b = next((v for v in b.verdicts if v.site == site), None)
        primary_a = verdict_a.primary if verdict_a else "no verdict"
        primary_b = verdict_b.primary if verdict_b else "no verdict"
        if primary_a != primary_b:
            result.changes.append(Change("verdict", site, "primary cause", primary_a, primary_b))
    return result


def compare_engines(report: Report, site: str, a_engine: Engine, b_engine: Engine) -> Comparison:
    """Browser vs browser within one report: the same site and modes, two engines."""
    result = Comparison(a=a_engine, b=b_engine)
    status = {e.engine: e for e in report.engines}
    before, after = _engine_text(status.get(a_engine)), _engine_text(status.get(b_engine))
    if before != after:
        result.changes.append(Change("engine", site, "engine", before, after))
    for mode in modes_of(report):
        where = f"{site} {mode}"
        pair = cell(report, site, a_engine, mode), cell(report, site, b_engine, mode)
        result.changes.extend(_cells(where, *pair, with_values=True))
    return result


def comparison_markdown(c: Comparison) -> str:
    """The comparison as a Markdown table."""
    lines = [f"## loginprobe compare: {md(c.a)} → {md(c.b)}", ""]
    if c.identical:
        return "\n".join([*lines, "No differences.", ""])
    lines += ["| where | what | before | after |", "|---|---|---|---|"]
    lines += [f"| {md(x.where)} | {md(x.what)} | {md(x.before)} | {md(x.after)} |" for x in c.changes]
    return "\n".join(lines) + "\n"


def print_comparison(c: Comparison, console: Console) -> None:
    """The comparison as a rich table, changes coloured by category."""
    if c.identical:
        console.print(f"{c.a} → {c.b}: no differences", highlight=False)
        return
    colours = {"engine": "magenta", "outcome": "bold red", "status": "red", "verdict": "bold yellow"}
    table = Table(title=f"{c.a} → {c.b}", title_justify="left")
    for column in ("where", "what", "before", "after"):
        table.add_column(column, overflow="fold")
    for x in c.changes:
        table.add_row(x.where, x.what, x.before, x.after, style=colours.get(x.category))
    console.print(table)
