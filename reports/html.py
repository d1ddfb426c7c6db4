"""report.html: one self-contained page (inline CSS and JS, no network) a person would rather look at."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from string import Template

from loginprobe.evidence import RunEvidence
from loginprobe.report import Report
from loginprobe.reports.diff import Difference, cookie_differences, header_differences
from loginprobe.reports.html_parts import (
    anchor,
    esc,
    exchange_anchor,
    percent,
    prose,
    run_anchor,
    scrolling,
    stamp,
    table,
)
from loginprobe.reports.html_runs import runs_section
from loginprobe.reports.matrix import (
    Cell,
    cause_text,
    engines_of,
    headline,
    matrix,
    modes_of,
    plain_run,
    verdict_for,
)
from loginprobe.verdict import Finding, Verdict

STATE_TEXT = {"pass": "pass", "fail": "fail", "unavailable": "unavailable", "not-run": "not run"}
NO_REDACT_BANNER = "--no-redact: this report may contain secrets"


# -- banners and matrix -------------------------------------------------------------------------


def _banners(report: Report) -> str:
    out = []
    if not report.redacted:
        out.append(f'<div class="banner danger" id="banner-unredacted">{esc(NO_REDACT_BANNER)}</div>')
    if report.interrupted:
        missing = f" Missing runs: {', '.join(report.missing)}." if report.missing else ""
        out.append(
            '<div class="banner warn" id="banner-interrupted">Interrupted: this report holds only what was '
            f"captured before loginprobe stopped.{esc(missing)}</div>"
        )
    return "\n".join(out)


def _cell(c: Cell) -> str:
    status = f" {c.status}" if c.status is not None else ""
    label = f"{STATE_TEXT[c.state]}{status}"
    inner = f'{esc(label)}<span class="why">{esc(c.detail)}</span>'
    if c.run is not None:
        inner = f'<a href="#{esc(run_anchor(c.run.run_id))}">{inner}</a>'
    return (
        f'<td class="cell state-{esc(c.state)}" data-site="{esc(c.site)}" data-engine="{esc(c.engine)}" '
        f'data-mode="{esc(c.mode)}" data-state="{esc(c.state)}" title="{esc(c.detail)}">{inner}</td>'
    )


def _matrix(report: Report) -> str:
    engines, modes = engines_of(report), modes_of(report)
    status = {e.engine: e for e in report.engines}
    top = ['<th rowspan="2">site</th>']
    for engine in engines:
        known = status.get(engine)
        note = ""
        if known is not None:
            note = known.version or "" if known.available else f"unavailable: {known.reason or ''}"
        top.append(
            f'<th colspan="{len(modes)}" data-engine="{esc(engine)}">{esc(engine)}'
            f'<div class="muted small">{esc(note)}</div></th>'
        )
    sub = "".join(f"<th>{esc(mode)}</th>" for _ in engines for mode in modes)
    cells = matrix(report)
    rows = []
    for site in report.sites:
        verdict = verdict_for(report, site)
        cause = (
            f' <span class="badge {_cause_class(verdict.primary)}">{esc(verdict.primary)}</span>'
            if verdict
            else ""
        )
        tds = "".join(_cell(c) for c in cells if c.site == site)
        rows.append(
            f'<tr><th><a href="#{esc(anchor("verdict", site))}">{esc(site)}</a>{cause}</th>{tds}</tr>'
        )
    return scrolling(
        f'<table class="matrix"><thead><tr>{"".join(top)}</tr><tr>{sub}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


# -- verdicts ---------------------------------------------------------------------------------


def _cause_class(cause: str) -> str:
    return "cause-none" if cause == "none" else "cause"


def _confidence(value: float) -> str:
    return (
        f'<span class="conf" title="confidence {percent(value)}"><span style="width:{percent(value)}">'
        f"</span></span> {percent(value)}"
    )


def _finding_link(finding: Finding) -> str:
    if finding.run_id and finding.exchange_id is not None:
        target = exchange_anchor(finding.run_id, finding.exchange_id)
        text = f"{finding.run_id} · request #{finding.exchange_id}"
    elif finding.run_id:
        target, text = run_anchor(finding.run_id), finding.run_id
    else:
        return ""
    return f' <a class="cite" href="#{esc(target)}">{esc(text)}</a>'


def _verdict(verdict: Verdict) -> str:
    ok = verdict.primary == "none"
    contributing = ", ".join(verdict.contributing)
    findings = "".join(
        f'<li><span class="badge {_cause_class(f.cause)}">{esc(f.cause)}</span> '
        f'<span class="muted small">{esc(f.check)}, {percent(f.confidence)}'
        f"{esc(' · ' + ', '.join(f.engines)) if f.engines else ''}</span> {prose(f.summary)}"
        f"{_finding_link(f)}<div class='small muted'>next: {prose(f.next_step)}</div></li>"
        for f in verdict.findings
    )
    engines = []
    if verdict.engines_failing:
        engines.append(f"failing in {', '.join(verdict.engines_failing)}")
    if verdict.engines_passing:
        engines.append(f"passing in {', '.join(verdict.engines_passing)}")
    if verdict.engine_specific:
        engines.append("engine-specific")
    parts = [
        f'<div class="verdict{" ok" if ok else ""}" id="{esc(anchor("verdict", verdict.site))}" '
        f'data-site="{esc(verdict.site)}" data-primary="{esc(verdict.primary)}">',
        f'<h3>{esc(verdict.site)} <span class="badge primary {_cause_class(verdict.primary)}">'
        f"{esc(verdict.primary)}</span> {_confidence(verdict.confidence)}</h3>",
        f'<div class="muted small">{esc(cause_text(verdict.primary))}</div>',
        f'<p class="summary">{prose(verdict.summary)}</p>',
    ]
    if verdict.next_step:
        parts.append(f'<div class="next"><b>Next step:</b> {prose(verdict.next_step)}</div>')
    if verdict.signing_in_again:
        parts.append(f'<div class="relogin">{prose(verdict.signing_in_again)}</div>')
    if contributing:
        parts.append(f'<div class="contributing">Contributing: {esc(contributing)}</div>')
    if engines:
        parts.append(f'<div class="muted small">{esc("; ".join(engines))}</div>')
    if findings:
        parts.append(f'<h4>Findings</h4><ul class="findings">{findings}</ul>')
    parts.append("</div>")
    return "\n".join(parts)


def _verdicts(report: Report) -> str:
    out = [_verdict(v) for v in report.verdicts]
    diagnosed = {v.site for v in report.verdicts}
    out += [
        f'<div class="verdict" id="{esc(anchor("verdict", site))}"><h3>{esc(site)}</h3>'
        '<p class="muted">No verdict (the diagnosis did not run for this site).</p></div>'
        for site in report.sites
        if site not in diagnosed
    ]
    return "\n".join(out) or '<p class="muted">No sites.</p>'


# -- diffs and engines ------------------------------------------------------------------------


def _differences(title: str, differences: list[Difference]) -> str:
    if not differences:
        return f'<h4>{esc(title)}</h4><p class="muted small">no difference</p>'
    rows = [
        f'<tr class="diff-{d.kind}"><td>{esc(d.key)}</td><td>{esc(d.before)}</td><td>{esc(d.after)}</td></tr>'
        for d in differences
    ]
    return f"<h4>{esc(title)}</h4>" + table(["", "before", "after"], rows, "diff")


def _pair(a: RunEvidence, b: RunEvidence) -> str:
    return (
        f'<div class="pair"><h3>{esc(a.site)}: {esc(a.label)} → {esc(b.label)}</h3>'
        + _differences("Cookies", cookie_differences(a, b))
        + _differences("Headers sent on the protected request", header_differences(a, b))
        + "</div>"
    )


def _diffs(report: Report) -> str:
    out = []
    for site in report.sites:
        for engine in engines_of(report):
            fresh = plain_run(report, site, engine, "fresh")
            persisted = plain_run(report, site, engine, "persisted")
            if fresh and persisted:
                out.append(_pair(fresh, persisted))
        for mode in modes_of(report):
            runs = [r for e in engines_of(report) if (r := plain_run(report, site, e, mode))]
            out += [_pair(runs[0], other) for other in runs[1:]]
    return "\n".join(out) or '<p class="muted">Only one run per site: nothing to compare.</p>'


def _engines(report: Report) -> str:
    rows = []
    for e in report.engines:
        state = "pass" if e.available else "unavailable"
        detail = e.version or "" if e.available else e.reason or ""
        hint = f"<br><code>{esc(e.install_hint)}</code>" if e.install_hint and not e.available else ""
        rows.append(
            f'<tr data-engine="{esc(e.engine)}"><td>{esc(e.engine)}</td>'
            f'<td class="state-{state}">{"available" if e.available else "unavailable"}</td>'
            f"<td>{esc(detail)}{hint}</td><td>{esc(e.launch or '')}</td>"
            f"<td>{esc(e.executable or '')}</td></tr>"
        )
    return table(["engine", "", "version / reason", "launch", "executable"], rows, "engines")


def render_html(report: Report, folder: Path) -> Path:
    """Write report.html into the folder."""
    template = Template(files("loginprobe.reports").joinpath("templates/report.html").read_text("utf-8"))
    title = f"loginprobe: {headline(report)}"
    generated = (
        f"{stamp(report.created_at)} · sites: {', '.join(report.sites)} · loginprobe {report.tool_version} · "
        f"report schema {report.schema_version}"
    )
    page = template.substitute(
        title=esc(title),
        generated=esc(generated),
        tool_version=esc(report.tool_version),
        banners=_banners(report),
        matrix=_matrix(report),
        verdicts=_verdicts(report),
        runs=runs_section(report, folder),
        diffs=_diffs(report),
        engines=_engines(report),
    )
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
