"""From a site's evidence to one verdict: run every registered check, then weigh the findings.

Precedence (how the primary cause is chosen), in order:

1. Only findings that explain a failure compete: they point at a failing run (or at a differential
   run derived from one, or at the site as a whole) and have confidence >= `PRIMARY_FLOOR`. Findings
   below the floor are hygiene (e.g. a cacheable 401 seen in a run that succeeded): they are reported
   as contributing causes, never as the primary one. Findings of engine-limitation checks (an engine
   that cannot answer a challenge, as its notes say) never compete: the site is not at fault.
2. The cause with the highest confidence wins. Checks set confidence in bands (the named constants
   in `loginprobe.verdict`: STATED/DIRECT, INFERRED_*, DIFFERENTIAL/HEURISTIC*, HYGIENE*), so the
   bands are the real precedence:
     0.90-1.00  direct evidence the server or engine states (error="insufficient_scope", a 407, a CDP
                cookie block reason, a cache hit flag), or a differential run confirmed by direct evidence;
     0.75-0.89  direct evidence needing one inference (attributes vs the cookie jar in Firefox, a replayed
                Date, a difference between engines);
     0.50-0.74  a differential result alone (an ablation that fixes it) or a heuristic;
     below 0.50 hygiene.
3. Ties go to the cause supported by more distinct checks, then to the more specific cause
   (`SPECIFICITY`): what stops a good credential from reaching the server or being judged on its
   merits (proxy, cache, cookies, URL) outranks what the server says about the credential (expired,
   scope, key, scheme), which outranks the generic "missing" and "invalid" credentials.

Causes come from the auth path only (`checks.common.on_auth_path`): a finding that points at an
exchange off it never competes, and failures off it are listed in `Verdict.context`.

`none` when every run that judges the site (every run except the differential ones) succeeded, or
when the only failures are engine limitations; `unknown` when runs failed and no finding explains it.
"""

from __future__ import annotations

from collections.abc import Iterable

# Importing the check modules registers their checks.
from loginprobe.checks import (  # noqa: F401
    api_key,
    cache,
    cookies,
    credentials,
    engines,
    intermediaries,
    permissions,
    proxy,
    redirects,
    scheme,
    server,
    sessions,
    tokens,
    url,
)
from loginprobe.checks.common import (
    engine_limited,
    off_path_failures,
    on_auth_path,
    source_run,
    status_text,
    unobservable,
)
from loginprobe.checks.registry import registered
from loginprobe.evidence import Engine, RunEvidence, SiteEvidence
from loginprobe.verdict import CAUSES, DIRECT, PRIMARY_FLOOR, CauseId, Finding, Verdict

# Checks whose findings describe what an engine cannot do, not what the site does wrong.
ENGINE_LIMITATION_CHECKS = frozenset({"engine_cannot_answer_challenge"})
SPECIFICITY: tuple[CauseId, ...] = (
    "proxy-interference",
    "stale-cache",
    "stale-cookie",
    "cookie-blocked",
    "wrong-url",
    "expired-token",
    "insufficient-permissions",
    "invalid-api-key",
    "wrong-auth-scheme",
    "server-misconfiguration",
    "missing-credentials",
    "invalid-credentials",
    "unknown",
)


def run_checks(ev: SiteEvidence, *, raise_errors: bool = False) -> list[Finding]:
    """Every registered check's findings; a crashing check becomes an `unknown` finding naming it."""
    findings: list[Finding] = []
    for name, fn in registered().items():
        try:
            findings.extend(fn(ev))
        except Exception as exc:
            if raise_errors:
                raise
            # A crashing check is a loginprobe bug, but one check's bug must not cost the user the
            # whole diagnosis: report it as a finding (evidence text is already redacted, so the
            # message holds no secret) and let the other checks speak.
            findings.append(
                Finding(
                    cause="unknown",
                    check=name,
                    confidence=0.0,
                    summary=(
                        f"The check {name} failed on this evidence ({type(exc).__name__}: {str(exc)[:200]})."
                    ),
                    next_step="Report this loginprobe bug with the report folder; other checks still ran.",
                )
            )
    return findings


def _judging_runs(ev: SiteEvidence) -> list[RunEvidence]:
    return [r for r in ev.runs if r.ablation is None]


def _failing_run_ids(ev: SiteEvidence) -> set[str]:
    """Runs that failed for a reason of the site: judging runs, and differential runs of failed ones."""
    ids = {r.run_id for r in _judging_runs(ev) if not r.outcome.success and not engine_limited(r)}
    for r in ev.runs:
        if r.ablation is not None:
            source = source_run(ev, r)
            if source is not None and source.run_id in ids:
                ids.add(r.run_id)
    return ids


def _competes(finding: Finding, failing: set[str], ev: SiteEvidence) -> bool:
    if finding.check in ENGINE_LIMITATION_CHECKS or finding.confidence < PRIMARY_FLOOR:
        return False
    if finding.run_id is None:
        return True
    if finding.run_id not in failing:
        return False
    run = next((r for r in ev.runs if r.run_id == finding.run_id), None)
    ex = run.exchange(finding.exchange_id) if run is not None else None
    return run is None or ex is None or on_auth_path(run, ex)


# At most this many off-path failures are listed; the trace holds the rest.
CONTEXT_LIMIT = 10


def _context(ev: SiteEvidence) -> list[str]:
    """Failures off the auth path, once per request, with the runs that saw them."""
    seen: dict[tuple[str, str, str], list[str]] = {}
    for run in _judging_runs(ev):
        for ex in off_path_failures(run):
            seen.setdefault((ex.method, ex.url, status_text(ex)), []).append(run.label)
    lines = [
        f"{method} {address} got {status} in {', '.join(dict.fromkeys(labels))}: not part of the login, "
        "so not a cause"
        for (method, address, status), labels in seen.items()
    ]
    if len(lines) > CONTEXT_LIMIT:
        lines = [
            *lines[:CONTEXT_LIMIT],
            f"and {len(lines) - CONTEXT_LIMIT} more requests off the login's path",
        ]
    return lines


def _rank(findings: Iterable[Finding]) -> list[tuple[CauseId, float, list[Finding]]]:
    """Causes, strongest first, by (confidence, distinct checks, specificity)."""
    by_cause: dict[CauseId, list[Finding]] = {}
    for item in findings:
        by_cause.setdefault(item.cause, []).append(item)

    def key(cause: CauseId) -> tuple[float, int, int]:
        items = by_cause[cause]
        order = SPECIFICITY.index(cause) if cause in SPECIFICITY else len(SPECIFICITY)
        return (-max(i.confidence for i in items), -len({i.check for i in items}), order)

    ranked = sorted(by_cause, key=key)
    return [
        (
            cause,
            max(i.confidence for i in by_cause[cause]),
            sorted(by_cause[cause], key=lambda i: -i.confidence),
        )
        for cause in ranked
    ]


def _engines(ev: SiteEvidence) -> tuple[list[Engine], list[Engine]]:
    failing: set[Engine] = set()
    seen: set[Engine] = set()
    for run in _judging_runs(ev):
        seen.add(run.engine)
        if not run.outcome.success:
            failing.add(run.engine)
    return sorted(failing), sorted(seen - failing)


def _signing_in_again(ev: SiteEvidence) -> str | None:
    """Does signing in again fix the returning visits that failed? Read from each one's own login (a
    visit the site asked to sign in) or its "relogin" differential run."""
    said = []
    for run in _judging_runs(ev):
        if not run.returning_visit or run.outcome.success:
            continue
        if run.login_ran:
            said.append(f"no in {run.label}: the site asked it to sign in, and it still failed")
            continue
        relogin = next((r for r in ev.runs if r.ablation == "relogin" and source_run(ev, r) is run), None)
        if relogin is not None:
            healed = "yes" if relogin.outcome.success else "no"
            said.append(f"{healed} in {run.engine} ({relogin.label} {relogin.outcome.reason})")
    return "Does signing in again fix it? " + "; ".join(said) + "." if said else None


def _not_observed(ev: SiteEvidence, failing: set[str]) -> str:
    """What the engines of failing runs could not show, once per engine: the checks needing it stood aside."""
    said: dict[Engine, str] = {}
    for run in _judging_runs(ev):
        text = unobservable(run) if run.run_id in failing else ""
        if text and run.engine not in said:
            said[run.engine] = text
    return "".join(
        f" In {engine}, loginprobe could not observe {text}, so the checks that need them stood aside "
        "instead of guessing."
        for engine, text in said.items()
    )


def diagnose(ev: SiteEvidence, *, raise_errors: bool = False) -> Verdict:
    """One verdict for a site: the primary cause, contributing causes, and what to do next."""
    findings = run_checks(ev, raise_errors=raise_errors)
    engines_failing, engines_passing = _engines(ev)
    engine_specific = bool(engines_failing and engines_passing)
    failing = _failing_run_ids(ev)
    competing = [f for f in findings if _competes(f, failing, ev)]
    ordered = sorted(findings, key=lambda f: (f not in competing, -f.confidence))
    limited = [f for f in findings if f.check in ENGINE_LIMITATION_CHECKS]
    context = _context(ev)

    def contributing(exclude: CauseId | None) -> list[CauseId]:
        causes: list[CauseId] = []
        for item in ordered:
            if item.check in ENGINE_LIMITATION_CHECKS or item.cause in ("none", exclude):
                continue
            if item.cause == "unknown" and item.confidence == 0.0:
                continue  # a crashed check is listed in findings, not as a cause
            if item.cause not in causes:
                causes.append(item.cause)
        return causes

    def verdict(
        primary: CauseId, confidence: float, summary: str, causes: list[CauseId], next_step: str
    ) -> Verdict:
        return Verdict(
            site=ev.site,
            primary=primary,
            confidence=confidence,
            summary=summary,
            contributing=causes,
            findings=ordered,
            engines_failing=engines_failing,
            engines_passing=engines_passing,
            engine_specific=engine_specific,
            next_step=next_step,
            context=context,
            signing_in_again=_signing_in_again(ev),
        )

    if not ev.runs:
        # Nothing ran (every engine skipped or unavailable): nothing is known about the site, and
        # saying `none` would report a login nobody checked as working.
        return verdict(
            "unknown",
            0.0,
            "No run was recorded for this site, so nothing is known about its login.",
            [],
            "Check that at least one browser engine is available (`loginprobe browsers`) and read why "
            "each run was skipped in the report.",
        )
    if not failing:
        summary = CAUSES["none"]
        next_step = "Nothing to fix in the login."
        if limited:
            # One sentence per engine: its fresh and persisted runs hit the same limit.
            per_engine = {tuple(f.engines): f for f in reversed(limited)}
            summary = (
                "The site's login works; the only failures are engine limitations, not the site's: "
                + " ".join(f.summary for f in reversed(per_engine.values()))
            )
            next_step = limited[0].next_step
        return verdict("none", DIRECT if limited else 1.0, summary, contributing(None), next_step)
    ranked = _rank(competing)
    if not ranked:
        reasons = "; ".join(
            f"{r.label}: {r.outcome.reason}" for r in _judging_runs(ev) if r.run_id in failing
        )
        return verdict(
            "unknown",
            0.0,
            f"{CAUSES['unknown']} Failed runs: {reasons}.{_not_observed(ev, failing)}",
            contributing("unknown"),
            "Open the failing run's trace and compare the protected request with a successful one "
            "(headers, cookies, redirects); the report's findings list what was ruled in or out.",
        )
    cause, confidence, supporting = ranked[0]
    best = supporting[0]
    scope = ""
    if engine_specific:
        scope = f" Only {', '.join(engines_failing)} failed; {', '.join(engines_passing)} signed in."
    return verdict(
        cause,
        confidence,
        # A named cause needs no excuse: what an engine could not show is said only when nothing was
        # named (above), and the report lists it per run (`not_observable`).
        f"{CAUSES[cause]} {best.summary}{scope}",
        contributing(cause),
        best.next_step,
    )
