"""The terminal summary (rich): the matrix with outcome colours, unavailable engines, the verdicts."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from loginprobe.evidence import EngineStatus
from loginprobe.report import Report
from loginprobe.reports.matrix import Cell, cause_text, engines_of, matrix, modes_of

STYLE = {"pass": "bold green", "fail": "bold red", "unavailable": "dim", "not-run": "dim yellow"}


def _cell(c: Cell) -> Text:
    if c.state in ("pass", "fail"):
        status = f" {c.status}" if c.status is not None else ""
        return Text(f"{c.state}{status}", style=STYLE[c.state])
    if c.state == "unavailable":
        return Text("unavailable", style=STYLE[c.state])
    return Text("—" if c.detail == "not planned" else "not run", style=STYLE[c.state])


def summary_table(report: Report) -> Table:
    """Sites down, engine x mode across, coloured by outcome; unavailable engines' reasons as caption."""
    table = Table(title="loginprobe", title_justify="left", show_lines=False)
    table.add_column("site", style="bold")
    columns = [(engine, mode) for engine in engines_of(report) for mode in modes_of(report)]
    for engine, mode in columns:
        table.add_column(f"{engine}\n{mode}", justify="center")
    table.add_column("verdict")
    cells = matrix(report)
    verdicts = {v.site: v for v in report.verdicts}
    for site in report.sites:
        verdict = verdicts.get(site)
        cause = Text("")
        if verdict is not None:
            style = "green" if verdict.primary == "none" else "red"
            cause = Text(f"{verdict.primary} ({round(verdict.confidence * 100)}%)", style=style)
        table.add_row(site, *[_cell(c) for c in cells if c.site == site], cause)
    reasons = [
        f"{e.engine} unavailable: {e.reason or 'no reason given'}" for e in report.engines if not e.available
    ]
    if reasons:
        table.caption = "\n".join(reasons)
        table.caption_justify = "left"
    return table


def print_summary(report: Report, console: Console) -> None:
    """Print banners, the matrix and each site's verdict with its next step."""
    if not report.redacted:
        console.print("[bold red]--no-redact: this report may contain secrets[/]")
    if report.interrupted:
        console.print("[bold yellow]interrupted: this report holds only what was captured[/]")
    console.print(summary_table(report))
    for verdict in report.verdicts:
        style = "green" if verdict.primary == "none" else "red"
        line = Text.assemble(
            (f"{verdict.site}: ", "bold"),
            (verdict.primary, f"bold {style}"),
            f" ({round(verdict.confidence * 100)}%) ",
            verdict.summary,
        )
        console.print(line)
        if verdict.primary != "none":
            console.print(Text(f"  {cause_text(verdict.primary)}", style="dim"))
        if verdict.contributing:
            console.print(Text(f"  contributing: {', '.join(verdict.contributing)}"))
        if verdict.next_step:
            console.print(Text.assemble(("  next step: ", "bold"), verdict.next_step))


def engines_table(rows: list[EngineStatus]) -> Table:
    """`loginprobe browsers`: which engines can run here, how, and how to install a missing one."""
    table = Table(title="browsers", title_justify="left")
    for column in ("engine", "available", "version", "launch", "executable / reason"):
        table.add_column(column)
    for row in rows:
        available = Text("yes", style="green") if row.available else Text("no", style="red")
        detail = row.executable or "" if row.available else row.reason or ""
        if not row.available and row.install_hint:
            detail += f"\ninstall: {row.install_hint}"
        table.add_row(row.engine, available, row.version or "", row.launch or "", detail)
    return table
