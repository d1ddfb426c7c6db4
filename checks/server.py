"""Server misconfiguration: 401 without a challenge, flapping answers, good credentials refused.

A little over 400 lines: its ten checks are one cause id and share the credential signature and the
backend-header comparison; the proxy-shaped readings of the same evidence live in checks/intermediaries.py.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

from loginprobe.checks.cache import cache_evidence
from loginprobe.checks.common import (
    SESSION_FLOWS,
    accepted_submission,
    answered_below_capture,
    auth_path,
    authorization_request,
    authorization_response,
    cookie_pairs,
    credential_sent,
    describe_challenges,
    effective_status,
    failing_runs,
    make_finding,
    observable,
    ok_status,
    passing_runs,
    primary_runs,
    protected_exchange,
    server_says,
    status_text,
    where,
)
from loginprobe.checks.intermediaries import (
    cookie_never_set,
    forgery_refusal,
    forgery_summary,
)
from loginprobe.checks.permissions import login_session_came_along
from loginprobe.checks.registry import check
from loginprobe.evidence import Exchange, RunEvidence, SiteEvidence, same_resource
from loginprobe.verdict import DIRECT, HEURISTIC, HYGIENE_STRONG, INFERRED, INFERRED_STRONG, Finding

# Headers that name the backend node that answered (load balancers, PaaS routers, CDNs).
BACKEND_HEADER = re.compile(
    r"served-by|backend|upstream|node|instance|server|pod|host|region|x-amz-cf-pop", re.I
)
IGNORED_BACKEND_HEADERS = {"date", "content-length", "etag", "last-modified", "set-cookie"}


@check(cause="server-misconfiguration")
def no_challenge(ev: SiteEvidence) -> Iterator[Finding]:
    """The protected URL answered 401 without the WWW-Authenticate header RFC 9110 §15.5.2 requires."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        # No headers: not shown (WebKitGTK's rebuilt challenge rounds); shown ones are whole, so read them.
        if ex is None or ex.status != 401 or ex.challenges or not ex.response_headers:
            continue
        if ex.header("www-authenticate") is not None:
            continue
        if run.expectations.flow in SESSION_FLOWS or run.expectations.flow == "visit":
            # Cookie-session apps answer 401 without a challenge as a matter of course: there is no
            # scheme a browser could answer, so RFC 9110's header would say nothing. Not a fault.
            continue
        http_auth = run.expectations.flow in ("basic", "digest")
        yield make_finding(
            DIRECT if http_auth else HYGIENE_STRONG,
            f"{where(run, ex)} answered 401 without a WWW-Authenticate header"
            f"{', so the browser had no challenge to answer' if http_auth else ''}.",
            'Make the server send a `WWW-Authenticate` challenge with every 401 (e.g. `Basic realm="..."`, '
            "`Bearer`); if it is behind a proxy, check that the proxy does not drop the header.",
            run,
            ex,
        )


def _challenge_before(run: RunEvidence, ex: Exchange) -> Exchange | None:
    """The 401 with a challenge that the same URL answered earlier in the run."""
    for item in run.exchanges:
        if item.id < ex.id and item.status == 401 and item.challenges and same_resource(item.url, ex.url):
            return item
    return None


@check(cause="server-misconfiguration")
def server_error(ev: SiteEvidence) -> Iterator[Finding]:
    """The protected URL answered 5xx: to the credentials its own challenge asked for, or outright."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if run.via_proxy or ex is None or ex.status is None or ex.status < 500 or ex.from_cache:
            continue  # through a proxy, proxy.py compares with the direct run
        asked = _challenge_before(run, ex)
        sent = credential_sent(run, ex)
        said = server_says(ex)
        server_words = f" (the server said: {said[:160]})" if said else ""
        if asked is not None and sent is not None:
            yield make_finding(
                INFERRED_STRONG,
                f"{where(run, ex)} first answered 401 `{describe_challenges(asked.challenges)}`, then "
                f"{ex.status} to the request that carried {sent}{server_words}: the server failed while "
                "checking the credentials it had asked for.",
                "Read the server's error log for this URL: an authentication setup that cannot reach its "
                "user store (a password file it cannot open, a directory or database it cannot query) "
                "fails every login this way.",
                run,
                ex,
            )
            continue
        if run.expectations.flow not in ("basic", "digest"):
            continue  # an app's 500 after a cookie or token login says nothing about its auth setup
        # HTTP authentication guards the URL itself, so its 500 came from the server that asks for them.
        hidden = " (whether it answered a challenge first is out of the capture's sight)"
        unseen = hidden if "authorization" in {h.lower() for h in run.hidden_request_headers} else ""
        yield make_finding(
            HEURISTIC,
            f"{where(run, ex)} answered {ex.status}{server_words}{unseen}: the server failed instead of "
            "judging the credentials.",
            "Read the server's error log for this URL (its authentication setup or the app behind it).",
            run,
            ex,
        )


FRESH_SESSION = "the session its own run's login had just set"


def _credential_signature(run: RunEvidence, ex: Exchange) -> str | None:
    """What makes two requests "the same" for authentication, or None when they carried nothing.

    The same Authorization fingerprint is the same credential, and so are the configured HTTP
    credentials an engine sent below capture. For cookies, a session the login of the same run had just
    set (every value fresh from this run's Set-Cookie) counts as "a fresh session", so two runs that
    logged in the same way compare equal. The signature is also the sentence a finding shows.
    """
    if ex.authorization is not None:
        return f"Authorization: {ex.authorization.scheme} {ex.authorization.fingerprint}"
    if answered_below_capture(run, ex) is not None:
        return (
            f"the configured {run.expectations.flow.capitalize()} username and password, which {run.engine} "
            "sends out of the capture's sight"
        )
    pairs = cookie_pairs(ex)
    if not pairs or not run.login_ran:
        # A returning visit that never signed in holds no session "its login just set", even when the
        # app re-sets a rolling session cookie on every response.
        return None
    names = [name for name, _ in pairs]
    if len(names) != len(set(names)):
        return None  # shadowed cookies: stale_cookie's business
    set_here = {
        (sc.name, sc.value_fingerprint)
        for item in run.exchanges
        if item.id < ex.id
        for sc in item.set_cookies
    }
    if all(fingerprint and (name, fingerprint) in set_here for name, fingerprint in pairs):
        return f"{FRESH_SESSION}, cookie {', '.join(f'`{name}`' for name in sorted(names))}"
    return None


def _backend_difference(good: Exchange, bad: Exchange) -> str:
    diffs = []
    for name, value in bad.response_headers:
        lower = name.lower()
        if lower in IGNORED_BACKEND_HEADERS or not BACKEND_HEADER.search(lower):
            continue
        other = good.header(name)
        if other is not None and other != value:
            diffs.append(f"{name}: {other} on the success, {value} on the failure")
    return f" ({'; '.join(diffs)})" if diffs else ""


@check(cause="server-misconfiguration")
def flapping(ev: SiteEvidence) -> Iterator[Finding]:
    """Identical authenticated requests to the same URL got success and 401 from the network."""
    outcomes: dict[tuple[bool, str, str, str], list[tuple[RunEvidence, Exchange]]] = defaultdict(list)
    for run in ev.runs:
        for ex in auth_path(run):
            if ex.status is None or ex.from_cache or cache_evidence(run, ex)[1]:
                continue
            signature = _credential_signature(run, ex)
            if signature is None:
                continue
            outcomes[(run.via_proxy, ex.method, ex.url.split("#")[0], signature)].append((run, ex))
    for (_, method, url, signature), seen in outcomes.items():
        good = [(r, e) for r, e in seen if ok_status(e.status)]
        bad = [(r, e) for r, e in seen if e.status == 401]
        if not good or not bad:
            continue
        (good_run, good_ex), (bad_run, bad_ex) = good[0], bad[0]
        yield make_finding(
            DIRECT,
            f"The same {method} {url} with the same credential ({signature}) got {good_ex.status} in "
            f"{good_run.label} and 401 in {bad_run.label} ({len(good)} successes, {len(bad)} refusals, all "
            f"from the network){_backend_difference(good_ex, bad_ex)}.",
            "Compare the servers behind the load balancer (session store, signing keys, clocks, auth "
            "config); a node that refuses valid sessions must be fixed or taken out of rotation.",
            bad_run,
            bad_ex,
            {r.engine for r, _ in bad},
        )


@check(cause="server-misconfiguration")
def accepted_then_refused(ev: SiteEvidence) -> Iterator[Finding]:
    """Every run's login was accepted, and the session it had just set was refused right after."""
    failing = failing_runs(ev)
    if not failing or passing_runs(ev) or len(failing) != len(primary_runs(ev)):
        return
    examples: list[tuple[RunEvidence, Exchange, Exchange]] = []
    for run in failing:
        ex = protected_exchange(run)
        accepted = accepted_submission(run, ex) if ex is not None else None
        if ex is None or accepted is None or ex.status != 401 or cache_evidence(run, ex)[1]:
            return
        signature = _credential_signature(run, ex)
        if signature is None or not signature.startswith(FRESH_SESSION):
            return
        if not login_session_came_along(run, ex):
            return  # only the CSRF cookie went: the browser dropped the session (cookie-blocked's business)
        examples.append((run, accepted, ex))
    run, accepted, ex = examples[0]
    yield make_finding(
        HEURISTIC,
        f"The login {accepted.method} {accepted.url} answered {accepted.status} and set "
        f"{', '.join(sc.name for sc in accepted.set_cookies)}, and {where(run, ex)} carrying exactly "
        "that new "
        f"session got 401 from the network, in every run.",
        "The server accepts the password but not its own session: check the session store, the signing "
        "key shared by all nodes, the cookie the protected area expects, and any proxy or cache in "
        "front that drops the Cookie header (Apache `RequestHeader unset Cookie`, Varnish "
        "`unset req.http.Cookie`) or answers an access rule's refusal as 401 (nginx `deny` with "
        "`error_page 403 =401`).",
        run,
        ex,
        {r.engine for r, _, _ in examples},
    )


@check(cause="server-misconfiguration")
def session_cookie_never_set(ev: SiteEvidence) -> Iterator[Finding]:
    """No answer of the site set a cookie, though its login needs one (and no intermediary shows)."""
    if passing_runs(ev):
        return  # another run was given its cookie
    for run in failing_runs(ev):
        found = cookie_never_set(run)
        if found is None or found.hop is not None:
            continue  # an intermediary in the way: set_cookie_removed_on_the_way names it
        yield make_finding(
            HEURISTIC,
            f"No response of the site set a cookie in {run.label}, yet the site needs one: {found.need}. "
            "The browser had nothing to store or send: the application does not send Set-Cookie, or "
            "something in front of it removes the header without saying so.",
            "Check that the login and session pages send Set-Cookie as they leave the application, and "
            "that no proxy or cache in front of it drops the header (nginx `proxy_hide_header Set-Cookie`, "
            "Varnish `unset beresp.http.Set-Cookie`, Apache `Header unset Set-Cookie`).",
            run,
            found.answer,
        )


@check(cause="server-misconfiguration")
def login_refused_as_forgery(ev: SiteEvidence) -> Iterator[Finding]:
    """The site refused its own login form as a cross-site forgery (no intermediary in the headers)."""
    for run in failing_runs(ev):
        found = forgery_refusal(run)
        if found is None or found.hop is not None:
            continue  # an intermediary in the way: login_forged_behind_hop names it
        yield make_finding(
            HEURISTIC,
            f"{forgery_summary(run, found)}: the password was never judged. {found.cause}.",
            found.fix,
            run,
            found.submission,
        )


@check(cause="server-misconfiguration")
def start_page_refused(ev: SiteEvidence) -> Iterator[Finding]:
    """The login page itself answered 400 or 421 to a plain visit, in every run, before any credential."""
    failing = failing_runs(ev)
    if not failing or passing_runs(ev):
        return
    examples: list[tuple[RunEvidence, Exchange]] = []
    for run in failing:
        first = next((ex for ex in run.exchanges if ex.is_navigation and not ex.sent_by_loginprobe), None)
        if first is None or effective_status(first) not in (400, 421) or credential_sent(run, first):
            return
        examples.append((run, first))
    run, ex = examples[0]
    said = server_says(ex)
    yield make_finding(
        HEURISTIC,
        f"The first page, {ex.method} {ex.url}, answered {status_text(ex)}"
        + (f' ("{said[:120]}")' if said else "")
        + " to a plain visit, before any credential was sent, in every run: the server (or a proxy in front "
        "of it) refuses the request itself, most often for its Host (Django `ALLOWED_HOSTS`, a virtual host "
        "that does not match, a reverse proxy sending another Host).",
        "Open the page with the same host name the server expects, or make the server accept this one "
        "(Django `ALLOWED_HOSTS`; the reverse proxy passing the browser's Host: nginx "
        "`proxy_set_header Host $host;`, Apache `ProxyPreserveHost On`).",
        run,
        ex,
        {r.engine for r, _ in examples},
    )


# Parameters of an authorization request that say which app asked and where the answer must go.
CLIENT_PARAMS = ("client_id", "redirect_uri", "response_type", "scope")


def _oauth_url(url: str, names: tuple[str, ...]) -> str:
    """The URL without its query, then the named parameters (never a code or state) as written."""
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    shown = ", ".join(f"{name}={params[name]}" for name in names if name in params)
    return f"{parts.scheme}://{parts.netloc}{parts.path}" + (f" ({shown})" if shown else "")


def _error_page(run: RunEvidence, ex: Exchange) -> bool:
    """A page the browser navigated to that answered with an error status."""
    return (ex.is_navigation or ex.resource_type == "document") and (ex.status or 0) >= 400


@check(cause="server-misconfiguration")
def provider_refused_request(ev: SiteEvidence) -> Iterator[Finding]:
    """The identity provider answered the app's authorization request with an error page."""
    for run in failing_runs(ev):
        ex = next((e for e in run.exchanges if _error_page(run, e) and authorization_request(e.url)), None)
        if ex is None:
            continue
        said = server_says(ex)
        yield make_finding(
            DIRECT,
            f"The identity provider refused the app's authorization request: {ex.method} "
            f"{_oauth_url(ex.url, CLIENT_PARAMS)} in {run.label} answered {ex.status}"
            f"{f': {said[:240]}' if said else ''}; no login form was shown.",
            "Make the app's OAuth/OIDC client settings match its registration at the identity provider "
            "(the exact redirect_uri, client id, allowed scopes and response types), on either side.",
            run,
            ex,
        )


# An answer that names the transaction cookie or what it carries (express-openid-connect:
# '"auth_verification" cookie not found'; other SDKs: "state mismatch", "nonce missing").
MENTIONS_COOKIE = re.compile(r"\b(cookies?|state|nonce)\b", re.I)


@check(cause="server-misconfiguration")
def callback_refused(ev: SiteEvidence) -> Iterator[Finding]:
    """The identity provider sent the browser back to the app's callback, and the callback failed."""
    for run in failing_runs(ev):
        ex = next((e for e in run.exchanges if _error_page(run, e) and authorization_response(e.url)), None)
        if ex is None:
            continue
        params = dict(parse_qsl(urlsplit(ex.url).query, keep_blank_values=True))
        described = f", {params['error_description']}" if params.get("error_description") else ""
        sent_back = f"an error (error={params['error']}{described})" if "error" in params else "a code"
        said = server_says(ex)
        if not observable(run, "cookies_not_sent") and (not said or MENTIONS_COOKIE.search(said)):
            # This engine cannot show whether it withheld the transaction cookie (SameSite on the way back
            # from the provider), and the app names a cookie or nothing: that reading cannot be ruled out.
            continue
        withheld = sorted({c.name for c in ex.cookies_not_sent})
        # A cookie the browser withheld from the callback explains its failure better (cookies.py).
        confidence = HEURISTIC if withheld else INFERRED
        yield make_finding(
            confidence,
            f"The identity provider sent the browser back to the app with {sent_back}, and the app's "
            f"callback {ex.method} {_oauth_url(ex.url, ('iss',))} in {run.label} answered {ex.status}"
            f"{f': {said[:240]}' if said else ''}; the sign-in never finished, so the protected request "
            "had no session.",
            "Read the app's log for the callback: a wrong client secret or token endpoint auth method "
            "(the provider refuses the code exchange), a clock or issuer mismatch, or a state/nonce check "
            "that failed. The password was accepted.",
            run,
            ex,
        )


# How servers and proxies refuse a request whose headers (most often its cookies) are too big: 431
# (RFC 6585 §5; Node, Kestrel) or nginx's 400 "Request Header Or Cookie Too Large".
TOO_LARGE = re.compile(r"(header|cookie)s?\b.{0,20}too large|too large.{0,20}(header|cookie)", re.I)


def _headers_too_large(ex: Exchange) -> bool:
    status = effective_status(ex)
    return status == 431 or (status in (400, 494) and bool(TOO_LARGE.search(ex.body_excerpt or "")))


@check(cause="server-misconfiguration")
def headers_too_large(ev: SiteEvidence) -> Iterator[Finding]:
    """The site refused the browser's request headers as too large: its own cookies outgrew its limit."""
    for run in failing_runs(ev):
        ex = next((e for e in auth_path(run) if _headers_too_large(e)), None)
        if ex is None:
            continue
        names = list(dict.fromkeys(name for name, _ in cookie_pairs(ex)))
        earlier = [e for e in run.exchanges if e.id < ex.id and e.origin == ex.origin]
        set_here = {sc.name for e in earlier for sc in e.set_cookies}
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        cookies = f"{len(names)} cookies ({shown})" if names else "no cookie"
        if not names and not observable(run, "cookies_sent"):
            cookies = f"cookies {run.engine} does not show"  # not "no cookie": it cannot see them
        own = len(set_here & set(names))
        own_text = f", {own} of them set by this site during this run" if own else ""
        yield make_finding(
            DIRECT,
            f"{where(run, ex)} answered {status_text(ex)}: the server refused the request's headers as too "
            f"large; the request carried {cookies}{own_text}.",
            "Keep the session small (store it server-side and keep only an id in the cookie, drop big "
            "claims such as group lists from the ID token) or raise the server's and proxy's header limit "
            "(Node --max-http-header-size, nginx large_client_header_buffers).",
            run,
            ex,
        )
