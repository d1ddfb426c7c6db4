"""Intermediaries that change what passes: a reverse proxy or cache that removes the session cookie or
Authorization on the way in, Set-Cookie on the way out, or passes another Host so that the app refuses
its own login form. With a hop in the headers (`Via`, `X-Varnish`, a cache's hit header) the proxy is named
(proxy-interference); checks/server.py reads the same shapes without one (server-misconfiguration)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from loginprobe.checks.cache import HIT_HEADERS, cache_evidence
from loginprobe.checks.common import (
    SESSION_FLOWS,
    accepted_submission,
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
    site_of,
    status_text,
    where,
)
from loginprobe.checks.proxy import REFUSED_WORDS
from loginprobe.checks.registry import check
from loginprobe.evidence import Exchange, RunEvidence, SiteEvidence
from loginprobe.verdict import HEURISTIC_WEAK, INFERRED, INFERRED_WEAK, Finding

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
def session_cookie_lost_on_the_way(ev: SiteEvidence) -> Iterator[Finding]:
    """The login set a session, the browser sent it through a proxy, and the server saw no session."""
    if passing_runs(ev):
        return  # a session got through in another run: the way in passes cookies (flapping nodes do not)
    if any(r.via_proxy for r in primary_runs(ev)):
        return  # runs with and without --proxy: proxy_changes_outcome compares the two
    for run in failing_runs(ev):
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


@check(cause="proxy-interference")
def bearer_unseen_behind_hop(ev: SiteEvidence) -> Iterator[Finding]:
    """A bearer token sent through an intermediary got a bare `Bearer` challenge, the answer to no token."""
    if any(r.via_proxy for r in primary_runs(ev)):
        return  # runs with and without --proxy: proxy_changes_outcome compares the two
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if (
            ex is None
            or ex.status != 401
            or ex.authorization is None
            or ex.authorization.scheme.lower() != "bearer"
        ):
            continue
        bare = [ch for ch in ex.challenges if ch.scheme.lower() == "bearer" and ch.error is None]
        hop = intermediary(ex)
        if not bare or hop is None or any(REFUSED_WORDS.search(t) for t in error_texts(ex)):
            continue
        # RFC 6750 §3.1: a refused token gets error="invalid_token"; a request without any token gets
        # a challenge without an error. Servers do not all follow the SHOULD, so this stays a suspicion.
        yield make_finding(
            HEURISTIC_WEAK,
            f"{where(run, ex)} carried {credential_sent(run, ex)} and got {status_text(ex)} "
            f"`{describe_challenges(bare)}` without an error, the answer RFC 6750 §3.1 gives a request "
            f"with no token at all, through an intermediary ({hop}): it may remove the Authorization header.",
            "Compare with the same call straight to the application; make the proxy or cache pass "
            "Authorization through (Varnish: no `unset req.http.Authorization`; nginx: no "
            '`proxy_set_header Authorization ""`).',
            run,
            ex,
        )


# How frameworks refuse a form as a cross-site request forgery (Django "CSRF verification failed",
# "Origin checking failed", Rails `InvalidAuthenticityToken`, Laravel's 419 "Page Expired").
FORGERY_WORDS = re.compile(
    r"\b[cx]srf\b|forgery|authenticity token|(origin|referr?er) check(ing)? failed|untrusted origin"
    r"|\bpage expired\b",
    re.IGNORECASE,
)


FORGERY_CAUSE = (
    "The app's cross-site request check compares the form's Origin/Referer with the Host and scheme it "
    "sees itself; a reverse proxy that passes another Host (nginx's default `$proxy_host`, Apache without "
    "`ProxyPreserveHost On`) or drops the scheme (TLS ended at the proxy) makes them differ"
)
FORGERY_FIX = (
    "Make the proxy pass the browser's Host and scheme (nginx `proxy_set_header Host $host;` and "
    "`X-Forwarded-Proto`, Apache `ProxyPreserveHost On`), or add the site's origin to the app's trusted "
    "origins (Django `CSRF_TRUSTED_ORIGINS`)."
)
COOKIE_STRIPPED_CAUSE = (
    "The app says the cookie is missing although the request carried it: the Cookie header was removed "
    "between the browser and the app (a cache stripping cookies to make pages cacheable)"
)
COOKIE_STRIPPED_FIX = (
    "Let the Cookie header through every hop in front of the app for the login pages and everything "
    "after sign-in (Varnish: no `unset req.http.Cookie` there; nginx: no `proxy_set_header Cookie`; "
    "Apache: no `RequestHeader unset Cookie`); compare with a request straight to the application."
)


@dataclass(frozen=True, slots=True)
class ForgeryRefusal:
    """A login form refused as forged although it carried the cookies the site had just set."""

    submission: Exchange
    words: str
    cookies: list[str]
    hop: str | None
    cookie_said: str | None  # the app's words that the cookie is missing (it was sent), if it says so

    @property
    def cause(self) -> str:
        """Why an app refuses a form that came with its cookie: the cookie lost, else Host or scheme."""
        return COOKIE_STRIPPED_CAUSE if self.cookie_said else FORGERY_CAUSE

    @property
    def fix(self) -> str:
        return COOKIE_STRIPPED_FIX if self.cookie_said else FORGERY_FIX


def forgery_refusal(run: RunEvidence) -> ForgeryRefusal | None:
    """The last login submission refused 400/403/419 in CSRF words while carrying the site's own cookies."""
    ex = protected_exchange(run)
    if run.outcome.success or run.expectations.flow not in SESSION_FLOWS:
        return None
    submissions = login_submissions(run, ex)
    if not submissions or effective_status(submissions[-1]) not in (400, 403, 419):
        return None
    submission = submissions[-1]
    text = body_text(submission.body_excerpt or "")
    words = quote(text, FORGERY_WORDS)
    site = site_of(submission.url)
    set_here = {
        sc.name
        for item in run.exchanges
        if item.id < submission.id and site_of(item.url) == site
        for sc in item.set_cookies
        if not is_deletion(sc.attributes)
    }
    carried = sorted(set_here & set(sent_cookie_names(submission)))
    if words is None or not carried:
        return None  # no cookie of the site came along: cookie_never_set or cookie_blocked explain it
    said = quote(text, COOKIE_WORDS)
    return ForgeryRefusal(submission, words, carried, intermediary(submission), said)


def forgery_summary(run: RunEvidence, found: ForgeryRefusal) -> str:
    """What the refused login form shows, in words every check of it shares."""
    sub = found.submission
    said = f' ("{found.cookie_said}")' if found.cookie_said and found.cookie_said != found.words else ""
    return (
        f'The login {sub.method} {sub.url} in {run.label} was refused {status_text(sub)}: "{found.words}"'
        f"{said}, although the browser sent it from the site's own page with the cookie(s) "
        f"{', '.join(found.cookies)} that the site had just set"
    )


@check(cause="proxy-interference")
def login_forged_behind_hop(ev: SiteEvidence) -> Iterator[Finding]:
    """The site refused its own login form as a forgery, and its answer came through an intermediary."""
    for run in failing_runs(ev):
        found = forgery_refusal(run)
        if found is None or found.hop is None:
            continue
        yield make_finding(
            INFERRED_WEAK,
            f"{forgery_summary(run, found)}. The answer came through an intermediary ({found.hop}). "
            f"{found.cause}.",
            found.fix,
            run,
            found.submission,
        )
