"""report.html: one self-contained page (inline CSS and JS, no network) a person would rather look at."""

from __future__ import annotations

import base64
import json
import re
import shlex
from collections.abc import Iterable
from datetime import datetime
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template
from urllib.parse import quote

from loginprobe.evidence import Exchange, JwtRecord, RunEvidence
from loginprobe.report import Report
from loginprobe.reports.diff import Difference, cookie_differences, header_differences
from loginprobe.reports.matrix import (
    Cell,
    cause_text,
    engines_of,
    failing_sites,
    matrix,
    modes_of,
    plain_run,
    verdict_for,
)
from loginprobe.verdict import Finding, Verdict

STATE_TEXT = {"pass": "pass", "fail": "fail", "unavailable": "unavailable", "not-run": "not run"}
NO_REDACT_BANNER = "--no-redact: this report may contain secrets"
# A screenshot up to this size is embedded as a data URI (a third larger), so report.html sent alone
# keeps it; a bigger one is linked only. The runner takes JPEGs that fit (flows/screenshots.py).
EMBED_BYTES = 110_000
IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


def esc(value: object) -> str:
    """HTML-escape anything (quotes too, so it is safe inside attributes)."""
    return escape("" if value is None else str(value), quote=True)


def prose(value: object) -> str:
    """Escaped text whose `backtick` pairs become <code> (HTML only: report.md keeps the backticks)."""
    return _INLINE_CODE.sub(r"<code>\1</code>", esc(value))


def anchor(*parts: object) -> str:
    """A stable element id from a run id (and exchange id)."""
    return "-".join(re.sub(r"[^A-Za-z0-9_.-]", "_", str(part)) for part in parts)


def run_anchor(run_id: str) -> str:
    """The id of a run's section."""
    return anchor("run", run_id)


def exchange_anchor(run_id: str, exchange_id: int) -> str:
    """The id of one timeline row."""
    return anchor("ex", run_id, exchange_id)


def href(path: str) -> str:
    """A relative link to an artifact inside the report folder."""
    return esc(quote(path))


def _time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ") if value else "—"


def _percent(value: float) -> str:
    return f"{round(value * 100)}%"


def _table(head: Iterable[str], rows: Iterable[str], cls: str = "") -> str:
    heads = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "\n".join(rows)
    table = f'<table class="{esc(cls)}"><thead><tr>{heads}</tr></thead><tbody>\n{body}\n</tbody></table>'
    return scrolling(table)


def scrolling(table: str) -> str:
    """A table in a box of its own that scrolls sideways, so a wide one never widens a phone's page."""
    return f'<div class="scroll">{table}</div>'


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
        f'<span class="conf" title="confidence {_percent(value)}"><span style="width:{_percent(value)}">'
        f"</span></span> {_percent(value)}"
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
        f'<span class="muted small">{esc(f.check)}, {_percent(f.confidence)}'
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


# -- runs -------------------------------------------------------------------------------------


def _duration(ms: float | None) -> str:
    return "—" if ms is None else f"{ms:.0f} ms"


def _timeline(run: RunEvidence) -> str:
    starts = [ex.started_at for ex in run.exchanges if ex.started_at]
    origin = min(starts) if starts else None
    span = 1.0
    if origin is not None:
        ends = [
            (ex.started_at - origin).total_seconds() * 1000 + (ex.duration_ms or 0)
            for ex in run.exchanges
            if ex.started_at
        ]
        span = max([*ends, 1.0])
    rows = []
    for ex in run.exchanges:
        classes = []
        if ex.id == run.outcome.protected_exchange:
            classes.append("protected")
        if ex.status in (401, 403, 407) or ex.failure:
            classes.append("unauthorized")
        elif ex.status is not None and ex.status < 400:
            classes.append("ok")
        status = esc(ex.status) if ex.status is not None else esc(ex.failure or "—")
        notes = _exchange_notes(ex)
        bar = ""
        if origin is not None and ex.started_at is not None:
            left = (ex.started_at - origin).total_seconds() * 1000 / span * 100
            width = max((ex.duration_ms or 0) / span * 100, 1)
            style = f"left:{left:.1f}%;width:{width:.1f}%"
            bar = f'<div class="bar-wrap"><div class="bar" style="{style}"></div></div>'
        rows.append(
            f'<tr id="{esc(exchange_anchor(run.run_id, ex.id))}" class="{" ".join(classes)}" '
            f'data-exchange="{ex.id}"><td>{ex.id}</td><td>{esc(ex.method)}</td>'
            f'<td class="status">{status}</td><td class="url">{esc(ex.url)}</td>'
            f"<td>{esc(ex.served_from)}</td><td>{_duration(ex.duration_ms)}</td><td>{bar}</td>"
            f'<td class="small">{notes}</td></tr>'
        )
    if not rows:
        return '<p class="muted">No requests were captured.</p>'
    # Status before the URL: on a phone the table scrolls, and what came back must be in view.
    head = ["#", "method", "status", "URL", "served from", "duration", "timeline", "notes"]
    return _table(head, rows, "timeline")


def _exchange_notes(ex: Exchange) -> str:
    notes = []
    if ex.is_navigation:
        notes.append("navigation")
    if ex.redirected_from is not None:
        notes.append(f"redirected from #{ex.redirected_from}")
    if ex.authorization:
        who = f" as {ex.authorization.identity}" if ex.authorization.identity else ""
        notes.append(f"Authorization: {ex.authorization.scheme}{who}")
    if ex.cookies_sent:
        notes.append(f"cookies sent: {', '.join(ex.cookies_sent)}")
    for withheld in ex.cookies_not_sent:
        notes.append(f"cookie {withheld.name} withheld: {', '.join(withheld.reasons) or 'no reason given'}")
    for set_cookie in ex.set_cookies:
        stored = {True: "stored", False: "rejected", None: "storage unknown"}[set_cookie.stored]
        blocked = f" ({', '.join(set_cookie.blocked_reasons)})" if set_cookie.blocked_reasons else ""
        notes.append(f"Set-Cookie {set_cookie.name}: {stored}{blocked}")
    for challenge in ex.challenges:
        params = ", ".join(f'{k}="{v}"' for k, v in challenge.params.items())
        notes.append(f"WWW-Authenticate: {challenge.scheme} {params}".strip())
    if ex.failure:
        notes.append(f"failure: {ex.failure}")
    if ex.body_excerpt:
        notes.append(f"body: {ex.body_excerpt}")
    return "<br>".join(esc(n) for n in notes)


def _expiry(jwt: JwtRecord) -> str:
    if jwt.seconds_to_expiry is None:
        return "no exp claim" if jwt.expires_at is None else "—"
    minutes, seconds = divmod(abs(round(jwt.seconds_to_expiry)), 60)
    amount = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    clock = "the server's Date" if jwt.reference == "server-date" else "the local clock"
    if jwt.seconds_to_expiry < 0:
        return f"expired {amount} before {clock}"
    return f"valid for {amount} after {clock}"


def _jwts(run: RunEvidence) -> str:
    if not run.jwts:
        return ""
    rows = []
    for jwt in run.jwts:
        where = esc(jwt.found_in)
        if jwt.exchange_id is not None:
            where += (
                f' (<a href="#{esc(exchange_anchor(run.run_id, jwt.exchange_id))}">#{jwt.exchange_id}</a>)'
            )
        expired = jwt.seconds_to_expiry is not None and jwt.seconds_to_expiry < 0
        claims = json.dumps(jwt.claims, indent=1, sort_keys=True, default=str)
        rows.append(
            f'<tr class="{"unauthorized" if expired else "ok"}"><td>{where}</td>'
            f"<td><pre>{esc(claims)}</pre></td><td>{esc(jwt.header.get('alg', ''))}</td>"
            f"<td>{esc(_time(jwt.expires_at))}</td><td>{esc(_time(jwt.issued_at))}</td>"
            f'<td class="status">{esc(_expiry(jwt))}</td></tr>'
        )
    head = ["found in", "claims", "alg", "exp", "iat", "expiry"]
    return "<h4>JWTs (decoded, not verified)</h4>" + _table(head, rows, "jwts")


def _cookies(run: RunEvidence) -> str:
    if not run.after.cookies:
        return ""
    rows = [
        f"<tr><td>{esc(c.name)}</td><td>{esc(c.domain)}</td><td>{esc(c.path)}</td>"
        f"<td>{esc(c.value_fingerprint)}</td><td>{esc('session' if c.expires is None else c.expires)}</td>"
        f"<td>{esc(' '.join(f for f, on in (('HttpOnly', c.http_only), ('Secure', c.secure)) if on))}"
        f"{esc(' SameSite=' + c.same_site if c.same_site else '')}</td></tr>"
        for c in run.after.cookies
    ]
    return "<h4>Cookies after the run</h4>" + _table(
        ["name", "domain", "path", "value", "expires", "attributes"], rows
    )


def _artifacts(run: RunEvidence, folder: Path) -> str:
    art = run.artifacts
    parts = []
    if art.trace:
        absolute = shlex.quote(str((folder / art.trace).resolve()))
        command = f"playwright show-trace {absolute}"
        parts.append(
            f'<div><b>Trace</b> <a href="{href(art.trace)}">{esc(art.trace)}</a>'
            f'<div class="cmd"><pre class="show-trace">{esc(command)}</pre>'
            f'<button class="copy" data-copy="{esc(command)}">copy</button></div>'
            f'<div class="muted small">from the report folder: <code>playwright show-trace '
            f"{esc(shlex.quote(art.trace))}</code> (or <code>python -m playwright show-trace …</code>)"
            "</div></div>"
        )
    if art.har:
        parts.append(f'<div><b>HAR</b> <a href="{href(art.har)}">{esc(art.har)}</a></div>')
    shots = [
        _figure(folder, path, caption, run.run_id)
        for path, caption in (
            (art.screenshot_after_submit, "right after the login was submitted"),
            (art.screenshot, "as the run ended"),
        )
        if path
    ]
    if shots:
        parts.append(f'<div class="shots">{"".join(shots)}</div>')
    return "<h4>Artifacts</h4>" + "".join(parts) if parts else ""


def image_src(folder: Path, relative: str) -> str:
    """A screenshot's data URI when it is a small JPEG/PNG inside the report folder, else its link."""
    path = (folder / relative).resolve()
    try:
        inside = path.is_relative_to(folder.resolve()) and path.stat().st_size <= EMBED_BYTES
        data = path.read_bytes() if inside else b""
    except OSError:  # a report moved without its files: the link is all there is
        data = b""
    mime = next((kind for magic, kind in IMAGE_TYPES.items() if data.startswith(magic)), None)
    if mime is None:
        return href(relative)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _figure(folder: Path, relative: str, caption: str, run_id: str) -> str:
    return (
        f'<figure class="shot"><img class="shot" alt="{esc(run_id)}, {esc(caption)}" '
        f'src="{image_src(folder, relative)}"><figcaption class="small muted">{esc(caption)} · '
        f'<a href="{href(relative)}">{esc(relative)}</a></figcaption></figure>'
    )


def visit_text(run: RunEvidence) -> str:
    """How the run met the site: a returning visit that signed in again (and why), or did not."""
    if not run.returning_visit:
        return ""
    if not run.login_ran:
        return "returning visit: the site did not ask to sign in"
    return f"returning visit, signed in because {run.login_trigger}" if run.login_trigger else ""


def _run(run: RunEvidence, folder: Path) -> str:
    state = "pass" if run.outcome.success else "fail"
    opened = " open" if state == "fail" else ""
    label = f"{run.engine} · {run.mode}" + (f" · {run.ablation}" if run.ablation else "")
    label += " · via proxy" if run.via_proxy else ""
    status = f" {run.outcome.status}" if run.outcome.status is not None else ""
    facts = [
        f"engine {run.engine} {run.engine_version}".strip(),
        f"launch: {run.launch}" if run.launch else "",
        f"flow {run.expectations.flow}",
        f"protected URL {run.expectations.protected_url}",
        f"{_time(run.started_at)} → {_time(run.finished_at)}",
        f"cache signal: {run.cache_signal}" if run.cache_signal else "",
        visit_text(run),
    ]
    extras = []
    for title, items in (
        ("Engine notes", run.engine_notes),
        ("Console errors", run.console_errors),
        ("Page errors", run.page_errors),
    ):
        if items:
            extras.append(f"<h4>{title}</h4><ul>{''.join(f'<li>{esc(i)}</li>' for i in items)}</ul>")
    return (
        f'<details class="run {state}" id="{esc(run_anchor(run.run_id))}"{opened}>'
        f'<summary><span class="badge state-{state}">{state}{esc(status)}</span> {esc(run.site)} · '
        f'{esc(label)} <span class="muted small">{esc(run.run_id)}</span></summary>'
        f'<p class="outcome">{prose(run.outcome.reason)}</p>'
        f'<p class="muted small">{esc(" · ".join(f for f in facts if f))}</p>'
        f"<h4>Requests</h4>{_timeline(run)}{_jwts(run)}{_cookies(run)}{_artifacts(run, folder)}"
        f"{''.join(extras)}</details>"
    )


def _runs(report: Report, folder: Path) -> str:
    out = []
    for site in report.sites:
        runs = [r for r in report.runs if r.site == site]
        skipped = [s for s in report.skipped if s.site == site]
        out.append(f"<h3>{esc(site)}</h3>")
        out += [_run(r, folder) for r in runs]
        out += [
            f'<div class="muted skipped" data-engine="{esc(s.engine)}">{esc(s.engine)} · {esc(s.mode)}: '
            f"not run — {esc(s.reason)}</div>"
            for s in skipped
        ]
    return "\n".join(out)


# -- diffs and engines ------------------------------------------------------------------------


def _differences(title: str, differences: list[Difference]) -> str:
    if not differences:
        return f'<h4>{esc(title)}</h4><p class="muted small">no difference</p>'
    rows = [
        f'<tr class="diff-{d.kind}"><td>{esc(d.key)}</td><td>{esc(d.before)}</td><td>{esc(d.after)}</td></tr>'
        for d in differences
    ]
    return f"<h4>{esc(title)}</h4>" + _table(["", "before", "after"], rows, "diff")


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
    return _table(["engine", "", "version / reason", "launch", "executable"], rows, "engines")


def render_html(report: Report, folder: Path) -> Path:
    """Write report.html into the folder."""
    template = Template(files("loginprobe.reports").joinpath("templates/report.html").read_text("utf-8"))
    failing = failing_sites(report)
    title = (
        f"loginprobe: {len(failing)} of {len(report.sites)} sites failing"
        if failing
        else f"loginprobe: all {len(report.sites)} sites pass"
    )
    generated = (
        f"{_time(report.created_at)} · sites: {', '.join(report.sites)} · loginprobe {report.tool_version} · "
        f"report schema {report.schema_version}"
    )
    page = template.substitute(
        title=esc(title),
        generated=esc(generated),
        tool_version=esc(report.tool_version),
        banners=_banners(report),
        matrix=_matrix(report),
        verdicts=_verdicts(report),
        runs=_runs(report, folder),
        diffs=_diffs(report),
        engines=_engines(report),
    )
    path = folder / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
