"""The terminal summary (rich), fit to the terminal it is printed in (or the CI log's COLUMNS).

Only engines that ran get columns; engines asked for that could not run share one footnote line.
Site names and cause ids are never cut: the table folds instead, and turns to one row per site and
engine when the engines do not fit side by side. Each verdict is said once, below the table.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from loginprobe.evidence import Engine, EngineStatus, Mode
from loginprobe.report import Report
from loginprobe.reports.matrix import (
    Cell,
    engines_ran,
    engines_unavailable,
    failing_sites,
    matrix,
    modes_of,
)
from loginprobe.reports.matrix import headline as sites_headline
from loginprobe.verdict import Verdict

STYLE = {"pass": "bold green", "fail": "bold red", "unavailable": "dim", "not-run": "dim yellow"}
INDENT = 2  # verdict lines below a site's name


def cell_text(c: Cell) -> Text:
    """One cell: `pass 200`, `fail 401`, `skipped`, `not run` or `—` (not planned)."""
    if c.state in ("pass", "fail"):
        status = f" {c.status}" if c.status is not None else ""
        return Text(f"{c.state}{status}", style=STYLE[c.state])
    if c.state == "unavailable":
        return Text("skipped", style=STYLE[c.state])
    return Text("—" if c.detail == "not planned" else "not run", style=STYLE[c.state])


def _cause(verdict: Verdict | None) -> Text:
    if verdict is None:
        return Text("")
    return Text(verdict.primary, style="green" if verdict.primary == "none" else "red")


def _table(columns: Iterable[tuple[str, dict[str, object]]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, header_style="bold")
    for header, options in columns:
        table.add_column(header, **options)  # type: ignore[arg-type]
    return table


def _wide(report: Report, engines: list[Engine], modes: list[Mode], with_verdict: bool) -> Table:
    """Sites down, engine x mode across (and the cause id when it fits)."""
    folded: dict[str, object] = {"overflow": "fold"}
    kept: dict[str, object] = {"no_wrap": True}
    # The engine heads its first mode column only: `chromium` above `fresh`, blank above `persisted`.
    columns = [("site", folded)] + [
        (f"{e if n == 0 else ''}\n{m}", kept) for e in engines for n, m in enumerate(modes)
    ]
    if with_verdict:
        columns.append(("verdict", kept))
    table = _table(columns)
    cells = [c for c in matrix(report) if c.engine in engines]
    verdicts = {v.site: v for v in report.verdicts}
    for site in report.sites:
        row: list[RenderableType] = [Text(site, style="bold")]
        row += [cell_text(c) for c in cells if c.site == site]
        if with_verdict:
            row.append(_cause(verdicts.get(site)))
        table.add_row(*row)
    return table


def _tall(report: Report, engines: list[Engine], modes: list[Mode]) -> Table:
    """One row per site and engine, modes across: fits 80 columns with any number of engines."""
    folded: dict[str, object] = {"overflow": "fold"}
    kept: dict[str, object] = {"no_wrap": True}
    table = _table([("site", folded), ("engine", kept)] + [(m, kept) for m in modes])
    cells = matrix(report)
    for site in report.sites:
        for n, engine in enumerate(engines):
            row = [c for c in cells if c.site == site and c.engine == engine]
            name = Text(site, style="bold") if n == 0 else Text("")
            table.add_row(name, Text(engine), *[cell_text(c) for c in row])
    return table


def _natural_width(console: Console, table: Table) -> int:
    return console.measure(table, options=console.options.update(width=10_000)).maximum


def summary_table(report: Report, console: Console | None = None) -> Table:
    """The matrix laid out for the console's width: wide (with the cause ids) when it fits, else tall."""
    console = console or Console(width=160)
    engines, modes = engines_ran(report), modes_of(report)
    for with_verdict in (True, False):
        table = _wide(report, engines, modes, with_verdict)
        if _natural_width(console, table) <= console.width:
            return table
    return _tall(report, engines, modes)


def footnote(report: Report) -> str | None:
    """One line naming the engines asked for that never ran, and why."""
    missing = engines_unavailable(report)
    if not missing:
        return None
    return "not run: " + "; ".join(f"{engine}: {reason}" for engine, reason in missing)


def headline(report: Report) -> str:
    """`loginprobe: 1 of 2 sites failing` (or `all 2 sites pass`)."""
    return f"loginprobe: {sites_headline(report)}"


def verdict_lines(verdict: Verdict) -> list[tuple[Text, bool]]:
    """A site's verdict, said once: `site: cause-id (70%)`, then (indented) the concrete summary and
    the next step. Each line comes with whether it is indented."""
    ok = verdict.primary == "none"
    style = "green" if ok else "red"
    head = Text.assemble(
        (f"{verdict.site}: ", "bold"),
        (verdict.primary, f"bold {style}"),
        f" ({round(verdict.confidence * 100)}%)",
    )
    if ok:
        head.append(f" {verdict.summary}")
        return [(head, False)]
    out = [(head, False), (Text(verdict.summary), True)]
    if verdict.contributing:
        out.append((Text(f"contributing: {', '.join(verdict.contributing)}"), True))
    if verdict.next_step:
        out.append((Text.assemble(("next step: ", "bold"), verdict.next_step), True))
    return out


def _print_trimmed(console: Console, table: Table) -> None:
    """Print a table without the blanks rich pads its last column with (trailing spaces in CI logs)."""
    for line in console.render_lines(table, console.options, pad=False):
        text = Text()
        for seg in line:
            if not seg.control:
                text.append(seg.text, seg.style)
        text.rstrip()
        console.print(text, soft_wrap=True)


def _print_wrapped(console: Console, text: Text, indented: bool) -> None:
    """Wrap to the console's width, every wrapped line indented and without trailing blanks (rich's
    own wrapping pads each line to the full width, which CI logs show as trailing spaces)."""
    indent = INDENT if indented else 0
    for line in text.wrap(console, max(console.width - indent, 20)):
        line.rstrip()
        console.print(Text(" " * indent) + line, soft_wrap=True)


def quiet_lines(report: Report) -> list[str]:
    """`--quiet`: one line per failing site, `site: cause-id: summary`."""
    verdicts = {v.site: v for v in report.verdicts}
    lines = []
    for site in failing_sites(report):
        verdict = verdicts.get(site)
        cause, summary = (verdict.primary, verdict.summary) if verdict else ("unknown", "no verdict")
        lines.append(f"{site}: {cause}: {summary}")
    return lines


def print_summary(report: Report, console: Console, *, quiet: bool = False) -> None:
    """Banners, the matrix, the footnote of engines that never ran, and each site's verdict."""
    if quiet:
        for line in quiet_lines(report):
            console.print(line, markup=False, highlight=False, soft_wrap=True)
        return
    if not report.redacted:
        console.print(Text("--no-redact: this report may contain secrets", style="bold red"))
    if report.interrupted:
        console.print(Text("interrupted: this report holds only what was captured", style="bold yellow"))
    console.print(Text(headline(report), style="bold"))
    if engines_ran(report):
        _print_trimmed(console, summary_table(report, console))
    note = footnote(report)
    if note:
        _print_wrapped(console, Text(note, style="dim"), False)
    for verdict in report.verdicts:
        for text, indented in verdict_lines(verdict):
            _print_wrapped(console, text, indented)


def engines_table(rows: list[EngineStatus]) -> Table:
    """`loginprobe browsers`: which engines can run here, how, and how to install a missing one."""
    table = Table(title="browsers", title_justify="left")
    for column in ("engine", "available", "version", "launch", "executable / reason"):
        table.add_column(column, overflow="fold")
    for row in rows:
        available = Text("yes", style="green") if row.available else Text("no", style="red")
        detail = row.executable or "" if row.available else row.reason or ""
        if not row.available and row.install_hint:
            detail += f"\ninstall: {row.install_hint}"
        table.add_row(row.engine, available, row.version or "", row.launch or "", detail)
    return table
