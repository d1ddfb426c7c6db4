"""Authenticated but not allowed: insufficient scope or role, 403 after login, 401 used for 403."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

from loginprobe.checks.common import (
    SESSION_FLOWS,
    accepted_in_own_realm,
    accepted_submission,
    answered_below_capture,
    api_key_sent,
    authorization_request,
    authorization_response,
    cookie_pairs,
    credential_sent,
    effective_status,
    error_texts,
    failing_runs,
    hides_http_auth,
    is_deletion,
    is_redirect,
    is_rejection,
    make_finding,
    mentions,
    observable,
    protected_exchange,
    says_not_authenticated,
    sent_cookie_names,
    server_says,
    status_text,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import Exchange, RunEvidence, SiteEvidence, same_resource
from loginprobe.verdict import DIRECT, INFERRED_STRONG, INFERRED_WEAK, STATED, Finding

PERMISSION_WORDS = r"permission|forbidden|not allowed|not authori[sz]ed to|role|scope|privilege|access denied"
CLAIMS = ("roles", "role", "scope", "scp", "groups", "permissions", "realm_access")
# Words with which a server names another reason to refuse a known session (expiry, CSRF).
NOT_PERMISSION_WORDS = r"expir|not (yet )?valid|\bnbf\b|\bexp\b|csrf|cross.site request"


def _session_renewed(run: RunEvidence, ex: Exchange) -> str | None:
    """The session cookies this run's login had just set that `ex` carried and whose 401 renewed them
    (a new Set-Cookie, not a deletion), or None: a server that renews a session knows its user."""
    if not run.login_ran:
        return None
    # By name: a rolling session gets a new value on every response, and not every response that
    # renewed it is in the capture (a page's subresources, a navigation that was replaced).
    set_before = {
        sc.name
        for item in run.exchanges
        if item.id < ex.id
        for sc in item.set_cookies
        if not is_deletion(sc.attributes)
    }
    fresh = {name for name, _ in cookie_pairs(ex) if name in set_before}
    if any(is_deletion(sc.attributes) for sc in ex.set_cookies if sc.name in fresh):
        return None  # the server dropped the session: it did not know it
    renewed = sorted({sc.name for sc in ex.set_cookies} & fresh)
    return ", ".join(f"`{name}`" for name in renewed) or None


# Cookies that protect forms against cross-site requests (Django's csrftoken, XSRF-TOKEN): anyone has one.
CSRF_COOKIE = re.compile(r"csrf|xsrf", re.IGNORECASE)


def _only_csrf_cookies(run: RunEvidence, ex: Exchange) -> bool:
    """Whether the request's only credential-like part was CSRF cookies (no Authorization, key or session)."""
    names = sent_cookie_names(ex)
    return (
        bool(names)
        and all(CSRF_COOKIE.search(name) for name in names)
        and ex.authorization is None
        and answered_below_capture(run, ex) is None
        and api_key_sent(run, ex) is None
    )


def login_session_came_along(run: RunEvidence, ex: Exchange) -> bool:
    """An accepted login came before `ex`, and `ex` carried a cookie it set (CSRF cookies aside), as far
    as the engine shows the Cookie header: a session the browser refused or withheld signs nobody in."""
    submission = accepted_submission(run, ex)
    if submission is None:
        return False
    if not observable(run, "cookies_sent"):
        return True  # the engine hides the Cookie header: the accepted login is all there is to go on
    set_by_login = {
        sc.name
        for sc in submission.set_cookies
        if not is_deletion(sc.attributes) and not CSRF_COOKIE.search(sc.name)
    }
    return not set_by_login or bool(set_by_login & set(sent_cookie_names(ex)))


def _claim_text(value: object) -> str:
    """A claim as a reader writes it: `[user, editor]` for a list, not Python's repr."""
    if isinstance(value, list):
        return "[" + ", ".join(_claim_text(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_claim_text(item)}" for key, item in value.items()) + "}"
    return str(value)


def _claims(run: RunEvidence, ex: Exchange) -> str:
    """The roles/scope claims of the token the request carried, as "roles=[user], scope=read"."""
    fingerprint = ex.authorization.fingerprint if ex.authorization is not None else None
    for jwt in run.jwts:
        if jwt.exchange_id == ex.id or (fingerprint and jwt.fingerprint == fingerprint):
            shown = [f"{name}={_claim_text(jwt.claims[name])}" for name in CLAIMS if name in jwt.claims]
            return ", ".join(shown) if shown else "no roles or scope claims"
    return ""


@check(cause="insufficient-permissions")
def insufficient_permissions(ev: SiteEvidence) -> Iterator[Finding]:
    """The user was authenticated but refused: insufficient_scope, a role missing, or 403 after login."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None:
            continue
        status = effective_status(ex)
        if status not in (401, 403):
            continue
        claims = _claims(run, ex)
        held = f"; the token holds {claims}" if claims else ""
        scoped = [ch for ch in ex.challenges if (ch.error or "").lower() == "insufficient_scope"]
        misuse = (
            " (RFC 6750 §3.1 and RFC 9110 §15.5.4 call for 403 here: the credentials were fine)"
            if status == 401
            else ""
        )
        if scoped:
            ch = scoped[0]
            needs = f" needing scope `{ch.scope}`" if ch.scope else ""
            why = f": {ch.error_description}" if ch.error_description else ""
            yield make_finding(
                STATED,
                f'{where(run, ex)} answered {status} with error="insufficient_scope"{needs}{why}{held}'
                f"{misuse}.",
                "Grant the user the role or scope the resource requires (or request a token with that "
                "scope); the credentials themselves are valid.",
                run,
                ex,
            )
            continue
        renewed = _session_renewed(run, ex) if run.expectations.flow in SESSION_FLOWS else None
        other_cause = mentions(error_texts(ex), NOT_PERMISSION_WORDS)
        if status == 401 and not ex.challenges and renewed and not other_cause:
            # Read before the server's words: a server that renews the session it was sent knows the
            # user, whatever its 401 says (express-openid-connect refuses a missing claim with
            # "Authentication is required for this route.", as it refuses nobody).
            words = server_says(ex)
            server_words = f" (the server said: {words[:160]})" if words else ""
            yield make_finding(
                INFERRED_WEAK,
                f"{where(run, ex)} carried the session this run's login had just set (cookie {renewed}) "
                f"and got 401{server_words}, yet that response renewed the session cookie instead of "
                f"clearing it: the server knows this user and refuses this resource to them{misuse}.",
                "Give this user the role, group or claim the resource requires (or test with a user who "
                "has it); ask the site to answer 403 for authenticated-but-not-allowed requests.",
                run,
                ex,
            )
            continue
        if says_not_authenticated(ex):
            continue  # the server says it saw no credentials: not a refusal of a known user
        sent = credential_sent(run, ex)
        if sent is not None and _only_csrf_cookies(run, ex):
            sent = None  # a CSRF cookie proves no sign-in: the session cookie did not come along
        authenticated = sent is not None or (
            run.expectations.flow in SESSION_FLOWS and login_session_came_along(run, ex)
        )
        said = next((t for t in error_texts(ex) if re.search(PERMISSION_WORDS, t, re.IGNORECASE)), None)
        server_said = f" (the server said: {said[:160]})" if said else ""
        if status == 403 and authenticated:
            yield make_finding(
                INFERRED_STRONG,
                f"{where(run, ex)} carried {sent or 'the session from a successful login'} and got 403 "
                f"Forbidden{server_said}{held}.",
                "Give this user access to the resource (role, group, ACL) or test with a user who has it.",
                run,
                ex,
            )
        elif status == 401 and sent is not None and said:
            yield make_finding(
                INFERRED_WEAK,
                f"{where(run, ex)} carried {sent} and got 401{server_said}{held}{misuse}.",
                "Give this user the permission the server names; ask the site to answer 403 for "
                "authenticated-but-not-allowed requests.",
                run,
                ex,
            )


@check(cause="insufficient-permissions")
def refused_in_own_realm(ev: SiteEvidence) -> Iterator[Finding]:
    """HTTP credentials refused at the URL but accepted at another path of the same realm."""
    # Authenticated, not authorized: servers such as Apache answer an authorization failure with the
    # challenge again, where RFC 9110 §15.5.4 calls for 403.
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None or not is_rejection(ex):
            continue
        found = accepted_in_own_realm(run, ex)
        if found is None:
            continue
        url, realm, answer = found
        sent = credential_sent(run, ex) or "the configured credentials"
        yield make_finding(
            DIRECT,
            f'{where(run, ex)} refused {sent} ({status_text(ex)}, realm "{realm.realm}"), but the same '
            f"realm accepted the same username and password at {url} ({answer.status}): the credentials "
            "are valid, this user is not allowed at this URL (RFC 9110 §15.5.4 calls for 403 here, not "
            "a new challenge).",
            f"Give this user access to {ex.url} (the server's user or group rules for that path), or test "
            "with a user who has it; the password is right.",
            run,
            ex,
        )


@check(cause="insufficient-permissions")
def forbidden_behind_http_auth(ev: SiteEvidence) -> Iterator[Finding]:
    """A Basic/Digest URL answered 403 to an engine that answers its challenges out of sight."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        exp = run.expectations
        if ex is None or ex.status != 403 or exp.flow not in ("basic", "digest") or ex.authorization:
            continue
        if not exp.credentials_configured or not hides_http_auth(run) or says_not_authenticated(ex):
            continue
        said = server_says(ex)
        server_words = f" (the server said: {said[:160]})" if said else ""
        yield make_finding(
            INFERRED_WEAK,
            f"{where(run, ex)} answered 403 Forbidden{server_words}; {run.engine} answers the URL's "
            f"{exp.flow.capitalize()} challenge out of the capture's sight, so the configured username and "
            "password most likely went with the request: the server knows the user and refuses this "
            "resource to them.",
            "Give this user access to the resource (the server's user or group rules for that path) or "
            "test with a user who has it; an engine that shows the exchange (Firefox) confirms it.",
            run,
            ex,
        )


def _sends_to_sign_in(ex: Exchange) -> bool:
    """A redirect to the identity provider's authorization endpoint (the app asking for a login)."""
    return is_redirect(ex) and authorization_request(urljoin(ex.url, ex.header("location") or ""))


@check(cause="insufficient-permissions")
def sign_in_loop(ev: SiteEvidence) -> Iterator[Finding]:
    """The app kept sending a signed-in user back to sign in: every lap set a session it then refused."""
    for run in failing_runs(ev):
        wanted = run.expectations.protected_url
        laps = [ex for ex in run.exchanges if same_resource(ex.url, wanted) and _sends_to_sign_in(ex)]
        signed_in = [
            ex
            for ex in run.exchanges
            if authorization_response(ex.url) and is_redirect(ex) and ex.set_cookies
        ]
        if len(laps) < 2 or len(signed_in) < 2:
            continue
        last = laps[-1]
        renewed = _session_renewed(run, last)
        if renewed is None:
            continue  # the session did not come along, or the app dropped it: the cookie checks' business
        callback = signed_in[-1]
        ended = (
            f" until the browser gave up ({run.protected.failure})"
            if run.protected and run.protected.failure
            else ""
        )
        yield make_finding(
            INFERRED_WEAK,
            f"The app sent the signed-in user back to sign in {len(laps)} times{ended}: each time the "
            f"identity provider signed them in at once and the callback {urlsplit(callback.url).path} set "
            f"the session, yet {last.method} {last.url} in {run.label} carried that session (cookie "
            f"{renewed}, renewed on that very answer) and redirected to the provider again. Signing in again "
            "cannot change the answer: the user lacks something this resource requires (a role, group or "
            "claim).",
            "Give this user the role, group or claim the resource checks (or test with a user who has it); "
            "ask the site to answer 403 to a signed-in user it refuses instead of sending them to sign in.",
            run,
            last,
        )
