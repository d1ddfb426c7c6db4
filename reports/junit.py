"""junit.xml: one testcase per site x browser x mode, so CI shows a login failure as a test failure."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from loginprobe.report import Report
from loginprobe.reports.matrix import Cell, matrix, verdict_for


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
                _properties(
                    case,
                    {
                        "cause": cause,
                        "run_id": c.run.run_id,
                        "trace": c.run.artifacts.trace or "",
                        "status": str(c.status) if c.status is not None else "",
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
                _properties(case, {"run_id": c.run.run_id, "status": str(c.status or "")})
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
