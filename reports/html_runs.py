"""report.html's runs: each run's request timeline, JWTs, cookies, artifacts and embedded screenshots."""

from __future__ import annotations

import base64
import json
import shlex
from pathlib import Path

from loginprobe.evidence import Exchange, JwtRecord, RunEvidence
from loginprobe.report import Report
from loginprobe.reports.html_parts import esc, exchange_anchor, href, prose, run_anchor, stamp, table

# A screenshot up to this size is embedded as a data URI (a third larger), so report.html sent alone
# keeps it; a bigger one is linked only. The runner takes JPEGs that fit (flows/screenshots.py).
EMBED_BYTES = 110_000
IMAGE_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}


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
    return table(head, rows, "timeline")


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
            f"<td>{esc(stamp(jwt.expires_at))}</td><td>{esc(stamp(jwt.issued_at))}</td>"
            f'<td class="status">{esc(_expiry(jwt))}</td></tr>'
        )
    head = ["found in", "claims", "alg", "exp", "iat", "expiry"]
    return "<h4>JWTs (decoded, not verified)</h4>" + table(head, rows, "jwts")


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
    return "<h4>Cookies after the run</h4>" + table(
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
        f"{stamp(run.started_at)} → {stamp(run.finished_at)}",
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


def runs_section(report: Report, folder: Path) -> str:
    """Every run of every site (failing ones open), then the runs that were skipped and why."""
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
