"""Proxies: a 407, outcomes that differ between direct and proxied runs, and headers an intermediary
removed on the way (Authorization, the session cookie, Set-Cookie)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from loginprobe.checks.cache import HIT_HEADERS, cache_evidence
from loginprobe.checks.common import (
    SESSION_FLOWS,
    accepted_submission,
    auth_path,
    body_text,
    credential_sent,
    describe_challenges,
    domain_matches,
    effective_status,
    error_texts,
    failing_runs,
    host_of,
    is_deletion,
    login_refusal,
    login_submissions,
    make_finding,
    passing_runs,
    primary_runs,
    protected_exchange,
    quote,
    says_not_authenticated,
    sent_cookie_names,
    server_says,
    site_of,
    status_text,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import Exchange, RunEvidence, SiteEvidence
from loginprobe.verdict import DIRECT, INFERRED, INFERRED_STRONG, INFERRED_WEAK, STATED, Finding

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
# Response headers that an intermediary adds on its way back: `Via` (RFC 9110 §7.6.3: a proxy or gateway
# sends it), Varnish's request ids, the hit/miss headers of shared caches and CDNs. The origin's
# `Server` is not one: it names software, not a hop.
HOP_HEADERS = ("via", "x-varnish", *HIT_HEADERS)
# A site's own words that a request needs a cookie it did not carry (Django "requires a CSRF cookie",
# "CSRF cookie not set", "session cookie missing", "cookies must be enabled").
COOKIE_WORDS = re.compile(r"\bcookies?\b", re.IGNORECASE)


def intermediary(ex: Exchange) -> str | None:
    """The headers by which a response shows it came through a proxy or cache, as `Name: value`."""
    found = [f"{name}: {value}" for name, value in ex.response_headers if name.lower() in HOP_HEADERS]
    return ", ".join(found) or None


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


@check(cause="proxy-interference")
def session_cookie_lost_on_the_way(ev: SiteEvidence) -> Iterator[Finding]:
    """The login set a session, the browser sent it through a proxy, and the server saw no session."""
    if passing_runs(ev):
        return  # a session got through in another run: the way in passes cookies (flapping nodes do not)
    for run in failing_runs(ev):
        if _partner(ev, run) is not None:
            continue  # a run with and without --proxy: proxy_changes_outcome compares the two
        ex = protected_exchange(run)
        if ex is None or effective_status(ex) not in (401, 403) or cache_evidence(run, ex)[1]:
            continue
        if ex.authorization is not None:
            continue  # the request's credential was its Authorization: credential_lost_on_the_way
        accepted = accepted_submission(run, ex)
        hop = intermediary(ex)
        said = says_not_authenticated(ex)
        if accepted is None or hop is None or said is None:
            continue
        session = sorted({sc.name for sc in accepted.set_cookies if not is_deletion(sc.attributes)})
        if not session or not set(session) <= set(sent_cookie_names(ex)):
            continue
        yield make_finding(
            INFERRED,
            f"The login {accepted.method} {accepted.url} answered {accepted.status} and set "
            f"{', '.join(session)}; {where(run, ex)} carried {'it' if len(session) == 1 else 'them'} and got "
            f'{status_text(ex)}, the server saying "{said}", as to a visitor without any session. The '
            f"answer came through an intermediary ({hop}): it removes the Cookie header on the way to the "
            "application (a cache stripping cookies to make pages cacheable).",
            "Let the session cookie through the proxy or cache for every path that needs the session "
            "(Varnish: no `unset req.http.Cookie` there; nginx: no `proxy_set_header Cookie`; Apache: no "
            "`RequestHeader unset Cookie`), or bypass the cache for signed-in users.",
            run,
            ex,
        )


@dataclass(frozen=True, slots=True)
class CookieNeverSet:
    """A session login in which the site never set a cookie, and the answer by which it needed one."""

    answer: Exchange  # the refused submission or the refused protected request
    need: str  # what that answer shows, in words
    hop: str | None  # the intermediary headers on the site's answers, if any


def cookie_never_set(run: RunEvidence) -> CookieNeverSet | None:
    """Whether a failed session login got no Set-Cookie from the site at all, while the site needed one:
    its refusal of the submission speaks of a cookie, or it redirected the accepted login onward and then
    refused the protected request, which carried no credential."""
    ex = protected_exchange(run)
    if (
        run.outcome.success
        or run.expectations.flow not in SESSION_FLOWS
        or "set_cookies" in run.not_observable
        or run.jwts
        or ex is None
        or effective_status(ex) not in (401, 403)
        or sent_cookie_names(ex)
        or ex.authorization is not None
    ):
        return None
    submissions = login_submissions(run, ex)
    site = site_of(run.expectations.start_url)
    own = [item for item in run.exchanges if site_of(item.url) == site and not item.sent_by_loginprobe]
    if not submissions or any(not is_deletion(sc.attributes) for item in own for sc in item.set_cookies):
        return None
    host = host_of(run.expectations.start_url)
    if any(domain_matches(host, c.domain) for c in run.after.cookies):
        return None  # a cookie the page's script set: the site did set one
    hop = next((h for h in map(intermediary, own) if h), None)
    submission = submissions[-1]
    status = effective_status(submission) or 0
    words = quote(body_text(submission.body_excerpt or ""), COOKIE_WORDS)
    if 400 <= status < 500 and words:
        need = f'{submission.method} {submission.url} was refused {status_text(submission)}: "{words}"'
        return CookieNeverSet(submission, need, hop)
    if 300 <= status < 400 and login_refusal(run, ex) is None:
        need = (
            f"the login {submission.method} {submission.url} answered {status_text(submission)} onward, and "
            f"{where(run, ex)} then got {status_text(ex)} with no cookie to send"
        )
        return CookieNeverSet(ex, need, hop)
    return None


@check(cause="proxy-interference")
def set_cookie_removed_on_the_way(ev: SiteEvidence) -> Iterator[Finding]:
    """No answer of the site set a cookie its login needs, and the answers came through an intermediary."""
    if passing_runs(ev):
        return  # another run was given its cookie
    for run in failing_runs(ev):
        found = cookie_never_set(run)
        if found is None or found.hop is None:
            continue
        yield make_finding(
            INFERRED_WEAK,
            f"No response of the site set a cookie in {run.label}, yet the site needs one: {found.need}. "
            f"Its answers came through an intermediary ({found.hop}), which removes Set-Cookie on the way "
            "back (a cache making responses storable), so the browser never got the cookie.",
            "Let Set-Cookie through the proxy or cache for the login and session pages (Varnish: no "
            "`unset beresp.http.Set-Cookie` there; nginx: no `proxy_hide_header Set-Cookie`; Apache: no "
            "`Header unset Set-Cookie`); compare with a request straight to the application.",
            run,
            found.answer,
        )
