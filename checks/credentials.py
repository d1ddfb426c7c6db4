"""Credentials missing or refused: the protected request carried none, or carried some that failed."""

from __future__ import annotations

from collections.abc import Iterator

from loginprobe.checks.common import (
    FLOW_SCHEME,
    SESSION_FLOWS,
    accepted_submission,
    answered_below_capture,
    credential_sent,
    describe_challenges,
    engine_limited,
    error_texts,
    failing_runs,
    is_rejection,
    make_finding,
    mentions,
    passing_runs,
    protected_exchange,
    rejected_submission,
    server_says,
    status_text,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import Exchange, RunEvidence, SiteEvidence
from loginprobe.verdict import HEURISTIC, INFERRED_STRONG, INFERRED_WEAK, PRIMARY_FLOOR, STATED, Finding

# Server words that name a cause other checks own (expiry, scope, audience): not a wrong password.
OTHER_CAUSE_WORDS = r"expir|not (yet )?valid|insufficient_scope|scope|audience|issuer|\bnbf\b|\bexp\b"


@check(cause="missing-credentials")
def missing_credentials(ev: SiteEvidence) -> Iterator[Finding]:
    """The protected request carried no credential although the server's challenge asked for one."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None or not is_rejection(ex) or not ex.challenges or credential_sent(run, ex):
            continue
        if engine_limited(run):
            continue  # engines.py reports a challenge this engine cannot answer
        exp = run.expectations
        offered = {ch.scheme.lower() for ch in ex.challenges}
        wanted = FLOW_SCHEME.get(exp.flow)
        if wanted and wanted not in offered and exp.credentials_configured:
            continue  # the server asks for another scheme: wrong-auth-scheme explains it
        challenge = describe_challenges(ex.challenges)
        if not exp.credentials_configured:
            yield make_finding(
                STATED,
                f"{where(run, ex)} answered {status_text(ex)} with the challenge `{challenge}` and the "
                "request "
                f"carried no credentials: none are configured for this site.",
                f"Configure the credentials the challenge asks for ({challenge.split(' ')[0]}) for this site "
                f"and run again.",
                run,
                ex,
            )
            continue
        if exp.flow in SESSION_FLOWS:
            if rejected_submission(run, ex) is not None:
                continue  # the login itself was refused: invalid-credentials
            accepted = accepted_submission(run, ex)
            if accepted is not None:
                # The login worked; why its session did not come along is for the cookie and URL checks.
                yield make_finding(
                    PRIMARY_FLOOR,
                    f"The login at {accepted.method} {accepted.url} was accepted ({accepted.status}, "
                    f"Set-Cookie {', '.join(sc.name for sc in accepted.set_cookies)}) but {where(run, ex)} "
                    f"carried no cookie or Authorization and got {status_text(ex)}.",
                    "Find out why the session set at login is not sent to the protected URL (cookie "
                    "attributes, another host or scheme after a redirect).",
                    run,
                    ex,
                )
                continue
        yield make_finding(
            INFERRED_WEAK,
            f"Credentials ({', '.join(exp.credentials_configured)}) are configured, but {where(run, ex)} "
            f"carried none and got {status_text(ex)} with the challenge `{challenge}`.",
            "Check that the login flow actually submits the configured credentials (form field "
            "selectors, the flow kind) and that they reach this URL.",
            run,
            ex,
        )


def _rejection(run: RunEvidence) -> tuple[Exchange, str] | None:
    """Where this run's credentials were refused, with what was refused."""
    ex = protected_exchange(run)
    if ex is not None and is_rejection(ex) and not ex.from_cache:
        sent = credential_sent(run, ex)
        refused_as_such = not mentions(error_texts(ex), OTHER_CAUSE_WORDS) and not _expired_jwt_sent(run, ex)
        visible = ex.authorization is not None or answered_below_capture(run, ex) is not None
        if visible and sent and refused_as_such:
            return ex, sent
    submission = rejected_submission(run, ex)
    if submission is not None and not mentions(error_texts(submission), OTHER_CAUSE_WORDS):
        return (
            submission,
            f"the login form's credentials ({', '.join(run.expectations.credentials_configured)})",
        )
    return None


def _expired_jwt_sent(run: RunEvidence, ex: Exchange) -> bool:
    for jwt in run.jwts:
        if jwt.exchange_id == ex.id and jwt.seconds_to_expiry is not None and jwt.seconds_to_expiry < 0:
            return True
    return False


@check(cause="invalid-credentials")
def invalid_credentials(ev: SiteEvidence) -> Iterator[Finding]:
    """Credentials were sent and refused in every engine and mode, fresh runs included."""
    failing = [r for r in failing_runs(ev) if not engine_limited(r)]
    if not failing or passing_runs(ev):
        return
    if any(r.expectations.flow == "api-key" for r in failing):
        return  # api_key.py owns keys
    if not any(r.mode == "fresh" for r in failing) and any(r.mode == "fresh" for r in ev.runs):
        return
    rejections: list[tuple[RunEvidence, Exchange, str]] = []
    for run in failing:
        found = _rejection(run)
        if found is None:
            return  # one run failed for another reason: not a plain wrong credential
        rejections.append((run, *found))
    run, ex, sent = rejections[0]
    engines = sorted({r.engine for r, _, _ in rejections})
    labels = ", ".join(r.label for r, _, _ in rejections)
    challenged = all(item.challenges for _, item, _ in rejections)
    challenge = f" with `{describe_challenges(ex.challenges)}`" if ex.challenges else " without a challenge"
    described = server_says(ex)
    said = f" (the server said: {described[:160]})" if described else ""
    yield make_finding(
        INFERRED_STRONG if challenged else HEURISTIC,
        f"{where(run, ex)} sent {sent} and got {status_text(ex)}{challenge}{said}; every run refused "
        f"them the same way ({labels}).",
        "Verify the configured credentials against the site (were they changed, locked or revoked?) "
        "and update them.",
        run,
        ex,
        engines,
    )
