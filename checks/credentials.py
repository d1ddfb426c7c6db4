"""Credentials missing or refused: the protected request carried none, or carried some that failed."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from loginprobe.checks.common import (
    FLOW_SCHEME,
    REFUSAL_WORDS,
    SECRET_MARK,
    SESSION_FLOWS,
    LoginRefusal,
    accepted_elsewhere,
    accepted_submission,
    answered_below_capture,
    api_key_sent,
    credential_sent,
    describe_challenges,
    effective_status,
    engine_limited,
    error_texts,
    failing_runs,
    hides_http_auth,
    is_rejection,
    login_refusal,
    make_finding,
    mentions,
    observable,
    passing_runs,
    protected_exchange,
    says_not_authenticated,
    secrets_sent,
    sent_cookie_names,
    server_says,
    status_text,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import Exchange, RunEvidence, SiteEvidence, header_value, origin_of
from loginprobe.verdict import (
    DIRECT,
    HEURISTIC,
    INFERRED,
    INFERRED_STRONG,
    INFERRED_WEAK,
    PRIMARY_FLOOR,
    STATED,
    Finding,
)

# Server words that name a cause other checks own (expiry, scope, audience): not a wrong password.
OTHER_CAUSE_WORDS = (
    r"expir|not (yet )?valid|insufficient_scope|scope|audience|issuer|\bnbf\b|\bexp\b|csrf|cross.site request"
)


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
        if exp.flow in (*SESSION_FLOWS, "visit") and not observable(run, "cookies_sent"):
            continue  # a session travels in a Cookie header this engine does not show: "none" is unknown
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
            if login_refusal(run) is not None:
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


def _credential_header_sent(run: RunEvidence, ex: Exchange) -> bool:
    """Whether the request carried an Authorization header or an API key (seen or below the capture)."""
    return (
        ex.authorization is not None
        or header_value(ex.request_headers, "authorization") is not None
        or api_key_sent(run, ex) is not None
        or answered_below_capture(run, ex) is not None
    )


@check(cause="missing-credentials")
def said_not_authenticated(ev: SiteEvidence) -> Iterator[Finding]:
    """The server said (401 or 403) that a protected request without a header credential carried none."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None or effective_status(ex) not in (401, 403) or _credential_header_sent(run, ex):
            continue
        if is_rejection(ex) and ex.challenges and not credential_sent(run, ex):
            continue  # missing_credentials reads the challenge
        if not observable(run, "cookies_sent"):
            continue  # "carried no cookie" is unknown in this engine; the verdict says what it could not see
        said = says_not_authenticated(ex)
        if said is None:
            continue
        cookies = sent_cookie_names(ex)
        names = ", ".join(dict.fromkeys(cookies))
        carried = f"carried only the cookies {names}" if cookies else "carried no cookie"
        exp = run.expectations
        if exp.flow in SESSION_FLOWS and run.login_ran:
            if login_refusal(run) is not None:
                continue  # the login itself was refused: invalid-credentials
            accepted = accepted_submission(run, ex)
            if accepted is None:
                continue
            # The login worked; why its session did not come along is for the cookie and URL checks.
            yield make_finding(
                PRIMARY_FLOOR,
                f"The login at {accepted.method} {accepted.url} was accepted ({accepted.status}, "
                f"Set-Cookie {', '.join(sc.name for sc in accepted.set_cookies)}) but {where(run, ex)} "
                f'{carried} and got {status_text(ex)}: the server said "{said}".',
                "Find out why the session set at login is not sent to the protected URL (cookie "
                "attributes, another host or scheme after a redirect).",
                run,
                ex,
            )
            continue
        if cookies:
            continue  # a returning visit's cookies the server no longer knows: the stale-cookie checks
        configured = ", ".join(exp.credentials_configured)
        yield make_finding(
            STATED if not configured else INFERRED_WEAK,
            f"{where(run, ex)} {carried} and no Authorization, and got {status_text(ex)}: the server "
            f'said "{said}"'
            + (
                f"; the site did not ask this {'returning visit' if run.returning_visit else 'run'} to "
                f"sign in, so the configured credentials ({configured}) were never sent."
                if configured
                else "; no credentials are configured for this site."
            ),
            "Sign in first (a returning visit whose session ended needs a new login), or configure the "
            "credentials the site expects for this URL.",
            run,
            ex,
        )


@check(cause="missing-credentials")
def never_challenged(ev: SiteEvidence) -> Iterator[Finding]:
    """An HTTP-auth URL answered 403/404 without a challenge, so the browser never sent the password."""
    for run in failing_runs(ev):
        if run.expectations.flow not in ("basic", "digest") or not run.expectations.credentials_configured:
            continue
        ex = protected_exchange(run)
        if ex is None or ex.status not in (403, 404) or ex.challenges or _credential_header_sent(run, ex):
            continue
        if hides_http_auth(run):
            continue  # the engine may have answered a challenge out of sight: "never sent" is not known
        if any(item.challenges for item in run.redirect_chain(ex.id)):
            continue  # a challenge on the way: the browser answered it
        scheme = run.expectations.flow.capitalize()
        said = server_says(ex)
        server_said = f" (the server said: {said[:120]})" if said else ""
        yield make_finding(
            HEURISTIC,
            f"{where(run, ex)} answered {ex.status} without a `WWW-Authenticate` challenge"
            f"{server_said}, so the browser never sent the configured {scheme} credentials: browsers send "
            "them only when a 401 asks. Servers that hide protected resources from anonymous requests "
            "answer this way (GitHub-style 404); so does a wrong URL.",
            f"If the URL is right, the server must challenge (401 with `WWW-Authenticate: {scheme}`) for a "
            "browser to authenticate, or the client must send `Authorization` preemptively (flow "
            '"api-key", `[sites.token] name = "Authorization"`, the key `Basic <base64 of user:password>`); '
            "else correct the URL.",
            run,
            ex,
        )


@dataclass(frozen=True, slots=True)
class _Refused:
    """Where one run's credentials were refused."""

    run: RunEvidence
    answer: Exchange  # the response that refused them
    sent: str  # what was refused, in words
    login: LoginRefusal | None  # set when the login submission itself was refused


def _rejection(run: RunEvidence) -> _Refused | None:
    """Where this run's credentials were refused, with what was refused.

    For session flows the login's own answer comes first: when the site refused the submission, the
    401 of the protected page afterwards says nothing more.
    """
    refusal = login_refusal(run)
    if refusal is not None and mentions(error_texts(refusal.answer), OTHER_CAUSE_WORDS):
        refusal = None  # the site named another cause (expired, scope, CSRF): not a wrong password
    form_creds = f"the login form's credentials ({', '.join(run.expectations.credentials_configured)})"
    if refusal is not None and run.expectations.flow in SESSION_FLOWS:
        return _Refused(run, refusal.answer, form_creds, refusal)
    ex = protected_exchange(run)
    if ex is not None and is_rejection(ex) and not ex.from_cache:
        sent = credential_sent(run, ex)
        # A server that says no credentials came never read the ones sent (another scheme, header).
        refused_as_such = (
            not mentions(error_texts(ex), OTHER_CAUSE_WORDS)
            and not _expired_jwt_sent(run, ex)
            and says_not_authenticated(ex) is None
        )
        visible = ex.authorization is not None or answered_below_capture(run, ex) is not None
        if visible and sent and refused_as_such:
            return _Refused(run, ex, sent, None)
    if refusal is not None:
        return _Refused(run, refusal.answer, form_creds, refusal)
    return None


def _confidence(item: _Refused) -> float:
    """A login the site refused in words is stated; one refused by status alone is direct evidence; a
    401 of the protected resource is weaker without a challenge (it could be a broken server)."""
    if item.login is not None:
        if item.login.form_again and item.login.message is None:
            return INFERRED  # the form came back without words: no session was set, nothing was said
        worded = item.login.message is not None and REFUSAL_WORDS.search(item.login.message)
        return STATED if worded else DIRECT
    return INFERRED_STRONG if item.answer.challenges else HEURISTIC


def _refusal_sentence(item: _Refused) -> str:
    login = item.login
    if login is None:
        ex = item.answer
        challenge = (
            f" with `{describe_challenges(ex.challenges)}`" if ex.challenges else " without a challenge"
        )
        described = server_says(ex)
        said = f" (the server said: {described[:160]})" if described else ""
        return f"{where(item.run, ex)} sent {item.sent} and got {status_text(ex)}{challenge}{said}"
    sub, answer = login.submission, login.answer
    if login.form_again:
        how = f"the site showed the login form again ({answer.status} {answer.url})"
        if login.message is None:
            how += " without a message and without setting any cookie"
    else:
        how = f"the site answered {status_text(answer)}"
    said = f': "{login.message}"' if login.message else ""
    return f"The login was refused: {where(item.run, sub)} sent {item.sent} and {how}{said}"


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
    if any(accepted_elsewhere(run) is not None for run in failing):
        return  # another path of the origin accepted them: not invalid, wrong_realm says where
    rejections: list[_Refused] = []
    for run in failing:
        found = _rejection(run)
        if found is None:
            return  # one run failed for another reason: not a plain wrong credential
        rejections.append(found)
    first = rejections[0]
    labels = ", ".join(item.run.label for item in rejections)
    yield make_finding(
        min(_confidence(item) for item in rejections),
        f"{_refusal_sentence(first)}; every run refused them the same way ({labels}).",
        "Verify the configured credentials against the site (were they changed, locked or revoked?) "
        "and update them.",
        first.run,
        first.answer,
        sorted({item.run.engine for item in rejections}),
    )


def _stored_tokens(run: RunEvidence, ex: Exchange, before: bool = False) -> list[tuple[str, str, str]]:
    """(where, key, mark) of the secrets that the storage of the page making `ex` held after the run (or
    before it): tokens a single-page app keeps in localStorage or sessionStorage for its scripts."""
    page = origin_of(ex.frame_url) if ex.frame_url else ex.origin
    found: list[tuple[str, str, str]] = []
    for area in (run.before if before else run.after).storage:
        if area.origin not in (page, ex.origin):
            continue
        for where_kept, values in (("localStorage", area.local), ("sessionStorage", area.session)):
            for key, value in values.items():
                mark = SECRET_MARK.search(value)
                if mark is not None:
                    found.append((where_kept, key, mark.group(0)))
    return found


@check(cause="missing-credentials")
def stored_token_not_sent(ev: SiteEvidence) -> Iterator[Finding]:
    """The page's storage held a token, yet the app's protected request carried none and got 401."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        exp = run.expectations
        if ex is None or not is_rejection(ex) or ex.from_cache or exp.flow not in (*SESSION_FLOWS, "visit"):
            continue
        if secrets_sent(ex) or header_value(ex.request_headers, "authorization") is not None:
            continue  # it carried something: whether that was refused is for the other checks
        stored = _stored_tokens(run, ex)
        if not stored:
            continue
        kept, key, mark = stored[0]
        jwt = next((j for j in run.jwts if j.fingerprint == mark), None)
        what = "a secret"
        if jwt is not None:
            what = f"a JWT for sub={jwt.claims['sub']}" if "sub" in jwt.claims else "a JWT"
        said = server_says(ex)
        server_said = f" (the server said: {said[:160]})" if said else ""
        stored_by = " that this run's login stored" if run.login_ran else ""
        yield make_finding(
            INFERRED,
            f"{where(run, ex)} carried no Authorization and no other credential and got {status_text(ex)}"
            f"{server_said}, while the page's {kept} held `{key}` ({what}, {mark}){stored_by}: the app's "
            "script did not attach the token to this request.",
            "Make the app send the stored token with this request (for example `Authorization: Bearer "
            "<token>` in the fetch/XHR helper); the login itself works.",
            run,
            ex,
        )


@check(cause="invalid-credentials")
def stored_token_refused(ev: SiteEvidence) -> Iterator[Finding]:
    """A returning visit sent the token its storage kept and the server refused it, not for expiry."""
    if not any(r.mode == "fresh" for r in passing_runs(ev)):
        return  # a fresh login fails too: the plain invalid-credentials check reads that
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None or not run.returning_visit or run.login_ran or not is_rejection(ex) or ex.from_cache:
            continue
        kept = {mark: (area, key) for area, key, mark in _stored_tokens(run, ex, before=True)}
        sent = sorted(secrets_sent(ex) & kept.keys())
        if not sent or mentions(error_texts(ex), OTHER_CAUSE_WORDS) or _expired_jwt_sent(run, ex):
            continue  # an expired token is expired-token's; nothing from storage went along
        area, key = kept[sent[0]]
        said = server_says(ex)
        yield make_finding(
            INFERRED if said else HEURISTIC,
            f"The returning visit sent the token kept in {area} `{key}` ({sent[0]}): {where(run, ex)} "
            f"got {status_text(ex)}{f' (the server said: {said[:160]})' if said else ''}, while a fresh "
            "login works: the stored token is invalid (malformed, signed with another key, or revoked), "
            "not expired.",
            f"Clear `{key}` from the site's {area} and sign in again; make the app drop a token its API "
            "refuses instead of sending it again.",
            run,
            ex,
        )
