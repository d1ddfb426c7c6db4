"""junit.xml: one testcase per site x browser x mode, so CI shows a login failure as a test failure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from loginprobe.report import Report
from loginprobe.reports.matrix import Cell, matrix, verdict_for

# One set of JUnit property names for junit.xml and the pytest plugin's --junitxml, prefixed so they
# never clash with a suite's own record_property names.
CAUSE = "loginprobe_cause"
SUMMARY = "loginprobe_summary"
NEXT_STEP = "loginprobe_next_step"
RUN_ID = "loginprobe_run_id"
STATUS = "loginprobe_status"
TRACE = "loginprobe_trace"


def verdict_properties(cause: str, summary: str, next_step: str | None, run_id: str) -> dict[str, str]:
    """The JUnit properties of a verdict on one run (the same names from the CLI and the plugin)."""
    return {CAUSE: cause, SUMMARY: summary, NEXT_STEP: next_step or "", RUN_ID: run_id}


def _seconds(cell: Cell) -> str:
    if cell.run is None:
        return "0"
    return f"{max((cell.run.finished_at - cell.run.started_at).total_seconds(), 0):.3f}"


def _properties(parent: ET.Element, values: dict[str, str]) -> None:
    props = ET.SubElement(parent, "properties")
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value=value)


def junit_tree(report: Report) -> ET.ElementTree[ET.Element]:
    """The JUnit document: a testsuite per site, a testcase per engine x mode."""
    cells = matrix(report)
    root = ET.Element("testsuites", name="loginprobe")
    totals = {"tests": 0, "failures": 0, "skipped": 0}
    for site in report.sites:
        site_cells = [c for c in cells if c.site == site and c.detail != "not planned"]
        verdict = verdict_for(report, site)
        stamp = report.created_at.isoformat()
        suite = ET.SubElement(root, "testsuite", name=f"loginprobe.{site}", timestamp=stamp)
        counts = {"tests": len(site_cells), "failures": 0, "skipped": 0}
        for c in site_cells:
            case = ET.SubElement(
                suite, "testcase", classname=f"loginprobe.{site}", name=c.label, time=_seconds(c)
            )
            if c.state == "fail" and c.run is not None:
                counts["failures"] += 1
                cause = verdict.primary if verdict else "unknown"
                summary = verdict.summary if verdict else c.run.outcome.reason
                next_step = verdict.next_step if verdict else None
                _properties(
                    case,
                    {
                        **verdict_properties(cause, summary, next_step, c.run.run_id),
                        TRACE: c.run.artifacts.trace or "",
                        STATUS: str(c.status) if c.status is not None else "",
                    },
                )
                failure = ET.SubElement(case, "failure", message=f"{cause}: {summary}", type=cause)
                lines = [f"outcome: {c.run.outcome.reason}", f"verdict: {cause} — {summary}"]
                if verdict and verdict.next_step:
                    lines.append(f"next step: {verdict.next_step}")
                if c.run.artifacts.trace:
                    lines.append(f"trace: playwright show-trace {c.run.artifacts.trace}")
                failure.text = "\n".join(lines)
            elif c.state in ("unavailable", "not-run"):
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=c.detail)
            elif c.run is not None:
                _properties(case, {RUN_ID: c.run.run_id, STATUS: str(c.status or "")})
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("errors", "0")
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("errors", "0")
    ET.indent(root)
    return ET.ElementTree(root)


def render_junit(report: Report, folder: Path) -> Path:
    """Write junit.xml into the folder."""
    path = folder / "junit.xml"
    junit_tree(report).write(path, encoding="utf-8", xml_declaration=True)
    return path
