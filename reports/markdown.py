"""report.md: a short summary fit to paste into an issue tracker (and the GitHub job summary)."""

from __future__ import annotations

import re
from pathlib import Path

from loginprobe.report import Report
from loginprobe.reports.matrix import Cell, cause_text, engines_of, headline, matrix, modes_of

ICON = {"pass": "✅", "fail": "❌", "unavailable": "➖", "not-run": "·"}
MAX_FINDINGS = 3
NO_REDACT = "--no-redact: this report may contain secrets"


_CODE_SPAN = re.compile(r"(`[^`]+`)")


def md(value: object) -> str:
    """Text safe inside a Markdown table cell or paragraph (no table breaks, no stray markup); a
    `backtick` pair stays a code span, as report.html shows it as code."""
    text = " ".join(str(value).split())
    return "".join(
        # Backslash escapes do not work inside a code span; only a pipe must still not end a table cell.
        part.replace("|", "\\|")
        if _CODE_SPAN.fullmatch(part)
        else re.sub(r"([\\`*_\[\]|<>#])", r"\\\1", part)
        for part in _CODE_SPAN.split(text)
    )


def _cell(c: Cell) -> str:
    if c.state == "unavailable":
        return f"{ICON[c.state]} unavailable"
    if c.state == "not-run":
        return f"{ICON[c.state]} {md(c.detail)}" if c.detail != "not planned" else "·"
    status = f" {c.status}" if c.status is not None else ""
    return f"{ICON[c.state]} {c.state}{status}"


def matrix_table(report: Report) -> str:
    """The site x engine x mode matrix as a Markdown table."""
    columns = [(engine, mode) for engine in engines_of(report) for mode in modes_of(report)]
    head = "| site | " + " | ".join(f"{e} {m}" for e, m in columns) + " |"
    rule = "|---|" + "---|" * len(columns)
    cells = matrix(report)
    rows = [f"| {md(s)} | {' | '.join(_cell(c) for c in cells if c.site == s)} |" for s in report.sites]
    return "\n".join([head, rule, *rows])


def markdown_summary(report: Report, *, heading: str = "#") -> str:
    """The whole summary; `heading` lets it sit under another document's headings."""
    lines = [f"{heading} loginprobe: {headline(report)}", ""]
    lines.append(
        f"{report.created_at:%Y-%m-%d %H:%M:%SZ} · loginprobe {md(report.tool_version)} · "
        f"report schema {md(report.schema_version)}"
    )
    lines.append("")
    if not report.redacted:
        lines += [f"> **Warning:** {NO_REDACT}. Do not paste it publicly.", ""]
    if report.interrupted:
        missing = f" Missing runs: {md(', '.join(report.missing))}." if report.missing else ""
        lines += [f"> **Interrupted:** only what was captured before loginprobe stopped.{missing}", ""]
    lines += [f"{heading}# Verdicts", ""]
    for verdict in report.verdicts:
        lines.append(
            f"- **{md(verdict.site)}: `{verdict.primary}`** ({round(verdict.confidence * 100)}%) — "
            f"{md(verdict.summary)}"
        )
        if verdict.primary != "none":
            lines.append(f"  - cause: {md(cause_text(verdict.primary))}")
        if verdict.next_step:
            lines.append(f"  - next step: {md(verdict.next_step)}")
        if verdict.signing_in_again:
            lines.append(f"  - {md(verdict.signing_in_again)}")
        if verdict.contributing:
            lines.append(f"  - contributing: {', '.join(f'`{c}`' for c in verdict.contributing)}")
        if verdict.engines_failing:
            lines.append(f"  - failing in: {', '.join(verdict.engines_failing)}")
        for finding in sorted(verdict.findings, key=lambda f: -f.confidence)[:MAX_FINDINGS]:
            where = f" ({md(finding.run_id)}" + (
                f", request #{finding.exchange_id})" if finding.exchange_id is not None else ")"
            )
            lines.append(
                f"  - finding `{finding.cause}` {round(finding.confidence * 100)}%: "
                f"{md(finding.summary)}{where if finding.run_id else ''}"
            )
    if not report.verdicts:
        lines.append("No verdicts.")
    lines += ["", f"{heading}# Matrix", "", matrix_table(report), ""]
    unavailable = [e for e in report.engines if not e.available]
    for engine in unavailable:
        hint = f" (`{engine.install_hint}`)" if engine.install_hint else ""
        lines.append(f"- {engine.engine} unavailable: {md(engine.reason or 'no reason given')}{hint}")
    traces = [r.artifacts.trace for r in report.runs if r.artifacts.trace and not r.outcome.success]
    if traces:
        lines += ["", f"{heading}# Traces of failing runs", "", "From the report folder:", "", "```sh"]
        lines += [f"playwright show-trace {trace}" for trace in traces]
        lines += ["```"]
    lines += ["", "Full report: `report.html` in the report folder."]
    return "\n".join(lines) + "\n"


def render_markdown(report: Report, folder: Path) -> Path:
    """Write report.md into the folder."""
    path = folder / "report.md"
    path.write_text(markdown_summary(report), encoding="utf-8")
    return path
