"""Proxies: a 407, outcomes that differ between direct and proxied runs, an Authorization header that
the server says never arrived."""

from __future__ import annotations

import re
from collections.abc import Iterator

from loginprobe.checks.common import (
    auth_path,
    credential_sent,
    describe_challenges,
    error_texts,
    failing_runs,
    make_finding,
    primary_runs,
    protected_exchange,
    server_says,
    status_text,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import RunEvidence, SiteEvidence
from loginprobe.verdict import DIRECT, INFERRED_STRONG, STATED, Finding

PROXY_FAILURES = re.compile(r"PROXY|TUNNEL", re.IGNORECASE)
NO_CREDENTIAL_WORDS = r"\bno\b.*(token|credential|authori[sz]ation|key)|missing|not provided|required"
# A server saying in words that no credential reached it (DRF "Authentication credentials were not
# provided.", "missing bearer token"). Not "Authorization Required": the title of nginx's and Apache's
# stock 401 page, which they send whatever arrived.
NOT_ARRIVED_WORDS = re.compile(
    r"not (been )?(provided|supplied|present)|\bmissing\b|\bno (credentials?|token|authori[sz]ation)\b",
    re.IGNORECASE,
)
REFUSED_WORDS = re.compile(r"invalid|expired|revoked|incorrect|wrong|bad |malformed", re.IGNORECASE)


@check(cause="proxy-interference")
def proxy_authentication_required(ev: SiteEvidence) -> Iterator[Finding]:
    """The proxy answered 407 (or the engine failed the proxy connection) before the site was reached."""
    for run in primary_runs(ev):
        for ex in auth_path(run):
            if ex.status == 407 or ex.proxy_challenges:
                asked = f" asking `{describe_challenges(ex.proxy_challenges)}`" if ex.proxy_challenges else ""
                proxy = f" ({run.expectations.proxy})" if run.expectations.proxy else ""
                yield make_finding(
                    STATED,
                    f"The proxy{proxy} answered {ex.status or 407} to {where(run, ex)}{asked}: the request "
                    "never reached the site.",
                    "Users behind this proxy need its credentials (Proxy-Authorization); loginprobe cannot "
                    "give them (browsers ignore a user:password in a proxy URL), so check the site without "
                    "the proxy / VPN, or let this host through the proxy without proxy authentication.",
                    run,
                    ex,
                )
                break
            if ex.failure and PROXY_FAILURES.search(ex.failure) and run.via_proxy:
                yield make_finding(
                    DIRECT,
                    f"{where(run, ex)} failed at the proxy ({ex.failure}).",
                    "Check the proxy's settings and credentials, or run without it for this host.",
                    run,
                    ex,
                )
                break


def _partner(ev: SiteEvidence, run: RunEvidence) -> RunEvidence | None:
    for other in ev.runs:
        if (
            other.ablation is None
            and other.engine == run.engine
            and other.mode == run.mode
            and other.via_proxy != run.via_proxy
        ):
            return other
    return None


@check(cause="proxy-interference")
def proxy_changes_outcome(ev: SiteEvidence) -> Iterator[Finding]:
    """The direct and the proxied run of the same engine and mode ended differently."""
    for proxied in ev.runs:
        if not proxied.via_proxy or proxied.ablation is not None:
            continue
        direct = _partner(ev, proxied)
        if direct is None or direct.outcome.success == proxied.outcome.success:
            continue
        failed, passed = (proxied, direct) if not proxied.outcome.success else (direct, proxied)
        ex = protected_exchange(failed)
        if ex is not None and any(e.status == 407 or e.proxy_challenges for e in failed.exchanges):
            continue  # proxy_authentication_required already names it
        detail = ""
        confidence = INFERRED_STRONG
        if ex is not None:
            sent = credential_sent(failed, ex)
            no_error = ex.challenges and all(ch.error is None for ch in ex.challenges)
            said_none = any(re.search(NO_CREDENTIAL_WORDS, t, re.IGNORECASE) for t in error_texts(ex))
            if sent and (no_error or said_none):
                confidence = STATED
                detail = (
                    f": on {ex.method} {ex.url} the browser sent {sent}, "
                    f"but the server answered {status_text(ex)} "
                    f"`{describe_challenges(ex.challenges)}` as if no credentials arrived, so the "
                    f"{'proxy' if failed.via_proxy else 'direct path'} removed them"
                )
            else:
                detail = f": {where(failed, ex)} got {status_text(ex)}"
                via = ex.header("via")
                if via:
                    detail += f" (Via {via})"
        which = "through the proxy" if failed.via_proxy else "without the proxy"
        yield make_finding(
            confidence,
            f"{passed.label} signed in but {failed.label} failed {which}{detail}.",
            "Make the proxy pass the Authorization and Cookie headers through unchanged (or bypass it "
            "for this host); compare its configuration with the direct path.",
            failed,
            ex,
        )


@check(cause="proxy-interference")
def credential_lost_on_the_way(ev: SiteEvidence) -> Iterator[Finding]:
    """The browser sent Authorization in the scheme the server asks for, and the server said none came."""
    for run in failing_runs(ev):
        if _partner(ev, run) is not None:
            continue  # a run with and without --proxy: proxy_changes_outcome compares the two
        ex = protected_exchange(run)
        if ex is None or ex.status != 401 or ex.authorization is None:
            continue
        scheme = ex.authorization.scheme
        asked = [ch for ch in ex.challenges if ch.scheme.lower() == scheme.lower()]
        if not asked:
            continue  # another scheme than the one asked for: the server rightly saw no credentials
        texts = error_texts(ex)
        if not any(NOT_ARRIVED_WORDS.search(t) for t in texts) or any(REFUSED_WORDS.search(t) for t in texts):
            continue
        said = (server_says(ex) or "")[:160]
        yield make_finding(
            STATED,
            f"{where(run, ex)} carried {credential_sent(run, ex)}, the scheme the server's challenge "
            f"`{describe_challenges(asked)}` asks for, yet the server answered {status_text(ex)} saying "
            f'"{said}": the header never reached the application. Something between the browser and the '
            "app removed it: a reverse proxy, load balancer or gateway in front of the site, or an app "
            "server that does not pass Authorization on.",
            "Make every hop in front of the application pass the Authorization header through unchanged "
            '(nginx: no `proxy_set_header Authorization ""`; Apache: no `RequestHeader unset Authorization`, '
            "and `WSGIPassAuthorization On` / `CGIPassAuth On` for WSGI and CGI apps); compare with a "
            "request sent straight to the application.",
            run,
            ex,
        )
