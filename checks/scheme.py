"""The wrong authentication scheme: what the server's challenge asks for vs what was sent or configured."""

from __future__ import annotations

from collections.abc import Iterator

from loginprobe.checks.common import (
    FLOW_SCHEME,
    describe_challenges,
    failing_runs,
    is_rejection,
    make_finding,
    passing_runs,
    protected_exchange,
    status_text,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import SiteEvidence, same_resource
from loginprobe.verdict import DIRECT, INFERRED_STRONG, Finding

# Schemes a browser answers from a username and password (RFC 7617, RFC 7616).
PASSWORD_SCHEMES = ("basic", "digest")


@check(cause="wrong-auth-scheme")
def wrong_auth_scheme(ev: SiteEvidence) -> Iterator[Finding]:
    """The server's challenge asks for a scheme other than the one the client sent or is configured for."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        exp = run.expectations
        if ex is None or not is_rejection(ex) or not ex.challenges or exp.flow == "api-key":
            continue
        offered = [ch.scheme for ch in ex.challenges]
        offered_lower = {scheme.lower() for scheme in offered}
        challenge = describe_challenges(ex.challenges)
        sent = ex.authorization.scheme if ex.authorization is not None else None
        configured = FLOW_SCHEME.get(exp.flow)
        if sent and sent.lower() not in offered_lower:
            # A token scheme of the site's own (DRF's `Token`, `JWT`): the token flow sends any prefix.
            own = [scheme for scheme in offered if scheme.lower() not in ("basic", "digest", "negotiate")]
            fix = (
                f'set `scheme = "{own[0]}"` under `[sites.token]` so the header reads '
                f"`Authorization: {own[0]} <token>`"
                if exp.flow == "bearer" and own
                else "configure that flow"
            )
            yield make_finding(
                DIRECT,
                f"{where(run, ex)} sent Authorization: {sent} but the server answered {status_text(ex)} "
                f"challenging only `{challenge}`.",
                f"Authenticate with {' or '.join(offered)} as the challenge asks ({fix}, or "
                f"ask the site's owners which scheme this URL accepts now).",
                run,
                ex,
            )
        elif not sent and configured and configured not in offered_lower and exp.credentials_configured:
            limits = {scheme.lower() for scheme in run.unanswerable_schemes}
            password_schemes = [s for s in offered if s.lower() in PASSWORD_SCHEMES]
            if password_schemes and password_schemes[0].lower() in limits:
                # Digest takes a username and password too; it is this engine that never answers it.
                wanted = password_schemes[0]
                signed_in = sorted({r.engine for r in passing_runs(ev) if r.engine != run.engine})
                others = (
                    f"; {', '.join(signed_in)} answered it with the same username and password and signed in"
                    if signed_in
                    else ""
                )
                why = f"which {run.engine}, as launched here, never answers, so it sent nothing{others}"
                fix = (
                    f'Set `flow = "{wanted.lower()}"`, the scheme the server asks for ({run.engine} will '
                    f"still not answer {wanted}: check it with another engine)."
                )
            else:
                why = "which the browser cannot answer with a username and password, so it sent nothing"
                fix = (
                    f"Switch the site's flow to what the server asks for ({', '.join(offered)}) and "
                    "configure matching credentials."
                )
            yield make_finding(
                INFERRED_STRONG,
                f"The site is configured for {exp.flow.capitalize()} but {where(run, ex)} challenged only "
                f"`{challenge}` ({status_text(ex)}), {why}.",
                fix,
                run,
                ex,
            )


@check(cause="server-misconfiguration")
def credentials_withheld_without_challenge(ev: SiteEvidence) -> Iterator[Finding]:
    """Basic/Digest credentials were never sent because the server's 401 carried no challenge."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        exp = run.expectations
        if ex is None or ex.status != 401 or exp.flow not in ("basic", "digest"):
            continue
        if ex.challenges or not ex.response_headers or not exp.credentials_configured:
            continue
        same_url = [item for item in run.exchanges if same_resource(item.url, ex.url)]
        if any(item.authorization is not None for item in same_url):
            continue
        yield make_finding(
            INFERRED_STRONG,
            f"{where(run, ex)} answered 401 without a WWW-Authenticate header, so the browser never sent "
            f"the configured {exp.flow.capitalize()} credentials (browsers answer only a challenge).",
            f'Make the server send `WWW-Authenticate: {exp.flow.capitalize()} realm="..."` with its 401 '
            f"(RFC 9110 §11.6.1), e.g. nginx `auth_basic`, Apache `AuthType`.",
            run,
            ex,
        )
