"""Identity-provider and single-page-app shapes measured on real software (oidc-provider with
express-openid-connect, json-server-auth): a claim the user lacks, a callback that fails, a provider
that refuses the app's request, a login API's 400, a token the app forgot, third-party noise."""

from __future__ import annotations

import pytest

from loginprobe.evidence import Exchange, RunEvidence, StorageArea
from loginprobe.verdict import DIRECT, HEURISTIC, INFERRED, INFERRED_WEAK
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    IDP,
    TOKEN_FP,
    make_exchange,
    make_jwt,
    make_run,
    make_site,
    set_cookie,
)

SESSION = "‹secret:a995e551›"
AUTH_REQUEST = (
    f"{IDP}/auth?redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcallback&response_type=code"
    "&scope=openid+profile&state=‹secret:57a7e000›&client_id=rp-app"
)
CALLBACK = f"{APP}/callback?code=‹secret:c0de0001›&state=‹secret:57a7e000›&iss=http%3A%2F%2Flocalhost%3A5001"
REQUIRED = "Authentication is required for this route."
NOISE = "http://localhost:5002"


def _from_page(ex: Exchange, page: str) -> Exchange:
    return ex.model_copy(update={"frame_url": page})


def oidc_run(
    engine: str, protected: Exchange, callback_status: int = 302, body: str | None = None
) -> RunEvidence:
    """The code flow as express-openid-connect records it: the provider's form, the callback that sets
    `appSession`, then the protected request (the last exchange)."""
    exchanges = [
        make_exchange(0, f"{APP}/login", status=302, engine=engine, location=AUTH_REQUEST),  # type: ignore[arg-type]
        make_exchange(1, AUTH_REQUEST, status=303, engine=engine, redirected_from=0),  # type: ignore[arg-type]
        make_exchange(2, f"{IDP}/interaction/1", engine=engine),  # type: ignore[arg-type]
        make_exchange(3, f"{IDP}/interaction/1/login", "POST", 303, engine=engine),  # type: ignore[arg-type]
        make_exchange(
            4,
            CALLBACK,
            status=callback_status,
            engine=engine,  # type: ignore[arg-type]
            set_cookies=[set_cookie("appSession", SESSION)] if callback_status == 302 else [],
            body=body,
        ),
        protected.model_copy(update={"id": 5}),
    ]
    return make_run(
        exchanges, engine=engine, flow="oidc", start_url=f"{APP}/login", protected_url=protected.url
    )  # type: ignore[arg-type]


def refused_by_claim(engine: str, renewed: bool = True) -> RunEvidence:
    answer = (
        set_cookie("appSession", "‹secret:a995e552›")
        if renewed
        else set_cookie("appSession", "", expires="Thu, 01 Jan 1970 00:00:00 GMT")
    )
    protected = make_exchange(
        5,
        f"{APP}/admin",
        status=401,
        engine=engine,
        cookies=[("appSession", SESSION)],
        set_cookies=[answer],
        body=REQUIRED,  # type: ignore[arg-type]
    )
    return oidc_run(engine, protected)


def test_a_session_renewed_on_its_401_is_insufficient_permissions() -> None:
    # Given express-openid-connect's claimEquals refusal: the session the login set goes along, the 401
    # says "Authentication is required" and renews that session, in both engines.
    verdict = verdict_of(make_site(refused_by_claim("chromium"), refused_by_claim("firefox")))
    assert verdict.primary == "insufficient-permissions"
    assert verdict.confidence == INFERRED_WEAK
    assert "renewed the session cookie" in verdict.summary and REQUIRED in verdict.summary


def test_a_session_cleared_on_its_401_is_not_a_permission() -> None:
    # The server dropped the session it was sent: it did not know the user.
    found = findings_of("insufficient_permissions", make_site(refused_by_claim("chromium", renewed=False)))
    assert found == []


def test_a_failed_callback_is_server_misconfiguration_naming_it() -> None:
    # Given a wrong client secret: the provider refuses the code exchange and the app's callback says 400.
    said = "server responded with a challenge in the WWW-Authenticate HTTP Header"
    protected = make_exchange(5, f"{APP}/profile", status=401, body=REQUIRED)
    runs = [oidc_run(engine, protected, callback_status=400, body=said) for engine in ("chromium", "firefox")]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "server-misconfiguration"
    assert verdict.confidence == INFERRED
    assert f"{APP}/callback" in verdict.summary and said in verdict.summary
    assert "‹secret:c0de0001›" not in verdict.summary  # the code is not needed to read it


def test_a_callback_missing_a_withheld_cookie_leaves_the_cause_to_the_cookie_checks() -> None:
    from loginprobe.evidence import CookieNotSent

    protected = make_exchange(5, f"{APP}/profile", status=401, body=REQUIRED)
    run = oidc_run("chromium", protected, callback_status=400, body='"auth_verification" cookie not found')
    callback = run.exchanges[4].model_copy(
        update={"cookies_not_sent": [CookieNotSent(name="auth_verification", reasons=["SameSiteStrict"])]}
    )
    run = run.model_copy(update={"exchanges": [*run.exchanges[:4], callback, run.exchanges[5]]})
    (finding,) = findings_of("callback_refused", make_site(run))
    assert finding.confidence == HEURISTIC


def test_a_provider_error_page_is_server_misconfiguration_not_wrong_url() -> None:
    # Given the app's redirect_uri unknown to the provider: /auth answers its error page, no form shows.
    page = (
        "oops! something went wrong\nerror: invalid_redirect_uri\n"
        "error_description: redirect_uri did not match"
    )
    runs = []
    for engine in ("chromium", "firefox"):
        exchanges = [
            make_exchange(0, f"{APP}/profile", status=302, engine=engine, location=AUTH_REQUEST, cookies=[]),  # type: ignore[arg-type]
            make_exchange(1, AUTH_REQUEST, status=400, engine=engine, redirected_from=0, body=page),  # type: ignore[arg-type]
        ]
        runs.append(
            make_run(
                exchanges,
                engine=engine,
                flow="oidc",
                start_url=f"{APP}/login",
                protected_url=f"{APP}/profile",
            )
        )  # type: ignore[arg-type]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "server-misconfiguration"
    assert verdict.confidence == DIRECT
    assert "redirect_uri=http://127.0.0.1:5000/callback" in verdict.summary
    assert "redirect_uri did not match" in verdict.summary
    assert findings_of("wrong_url", make_site(*runs)) == []


def spa_run(
    engine: str, sent_token: bool, login_status: int = 200, login_body: str | None = None
) -> RunEvidence:
    """json-server-auth's SPA: a fetch login, the token kept in localStorage, the app's fetch."""
    app_page = f"{APP}/app.html"
    headers = [("Authorization", f"Bearer {TOKEN_FP}")] if sent_token else []
    exchanges = [
        make_exchange(0, f"{APP}/index.html", engine=engine),  # type: ignore[arg-type]
        _from_page(
            make_exchange(
                1, f"{APP}/login", "POST", login_status, engine=engine,  # type: ignore[arg-type]
                is_navigation=False, body=login_body,
            ),
            f"{APP}/index.html",
        ),
        make_exchange(2, app_page, engine=engine),  # type: ignore[arg-type]
        _from_page(
            make_exchange(
                3, f"{APP}/660/notes", status=200 if sent_token else 401, engine=engine,  # type: ignore[arg-type]
                is_navigation=False, request_headers=headers,
                body=None if sent_token else '"Missing authorization header"',
            ),
            app_page,
        ),
    ]  # fmt: skip
    run = make_run(
        exchanges,
        engine=engine,
        start_url=f"{APP}/index.html",
        protected_url=f"{APP}/660/notes",  # type: ignore[arg-type]
        jwts=[make_jwt(None, found_in=f"localStorage accessToken ({APP})")],
    )
    stored = [StorageArea(origin=APP, local={"accessToken": TOKEN_FP})] if login_status == 200 else []
    return run.model_copy(update={"after": run.after.model_copy(update={"storage": stored})})


def test_a_stored_token_the_app_never_sent_is_missing_credentials() -> None:
    verdict = verdict_of(make_site(spa_run("chromium", False), spa_run("firefox", False)))
    assert verdict.primary == "missing-credentials"
    assert verdict.confidence == INFERRED
    assert "`accessToken`" in verdict.summary and "Missing authorization header" in verdict.summary


def test_a_stored_token_that_was_sent_is_not_missing() -> None:
    assert findings_of("stored_token_not_sent", make_site(spa_run("chromium", True))) == []


def test_a_login_api_answering_400_with_its_reason_is_invalid_credentials() -> None:
    runs = [
        spa_run(e, False, login_status=400, login_body='"Incorrect password"')
        for e in ("chromium", "firefox")
    ]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "invalid-credentials"
    assert ': "Incorrect password"' in verdict.summary


@pytest.mark.parametrize("noise", [NOISE, "http://127.0.0.1:5002"], ids=["other-site", "same-site"])
def test_a_third_party_beacon_refused_is_not_the_login(noise: str) -> None:
    # Given a claim refusal on an app page that also posts an analytics beacon to another origin (401),
    # of another site or of the same host on another port, the beacon is noise: the verdict follows
    # the protected request.
    runs = []
    for engine in ("chromium", "firefox"):
        run = refused_by_claim(engine)
        beacon = _from_page(
            make_exchange(
                5,
                f"{noise}/collect",
                "POST",
                401,
                engine=engine,
                is_navigation=False,
                body="unknown site key",
            ),  # type: ignore[arg-type]
            f"{APP}/app",
        )
        protected = run.exchanges[5].model_copy(update={"id": 6})
        run = run.model_copy(update={"exchanges": [*run.exchanges[:5], beacon, protected]})
        run = run.model_copy(update={"outcome": run.outcome.model_copy(update={"protected_exchange": 6})})
        runs.append(run)
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "insufficient-permissions"
    assert "collect" not in verdict.summary


def stored_token_visit(engine: str, said: str) -> RunEvidence:
    """A returning visit (`--mode state`) whose localStorage holds the token the app sends."""
    app_page = f"{APP}/app.html"
    protected = _from_page(
        make_exchange(
            1, f"{APP}/660/notes", status=401, engine=engine,  # type: ignore[arg-type]
            is_navigation=False, request_headers=[("Authorization", f"Bearer {TOKEN_FP}")], body=said,
        ),
        app_page,
    )  # fmt: skip
    return make_run(
        [make_exchange(0, app_page, engine=engine), protected],  # type: ignore[arg-type]
        engine=engine,
        mode="state",
        start_url=f"{APP}/index.html",
        protected_url=f"{APP}/660/notes",  # type: ignore[arg-type]
        before_storage=[StorageArea(origin=APP, local={"accessToken": TOKEN_FP})],
        returning_visit=True,
        login_ran=False,
    )


def test_a_stored_token_the_server_calls_malformed_is_invalid_credentials() -> None:
    # Given a bug report's storage whose token json-server-auth calls "jwt malformed", and a fresh
    # login that works, the stored token is invalid (not expired).
    runs = [spa_run(e, True) for e in ("chromium", "firefox")]
    runs += [stored_token_visit(e, '"jwt malformed"') for e in ("chromium", "firefox")]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "invalid-credentials"
    assert "`accessToken`" in verdict.summary and "jwt malformed" in verdict.summary


def test_a_stored_token_the_server_calls_expired_is_left_to_the_expiry_checks() -> None:
    runs = [spa_run("chromium", True), stored_token_visit("chromium", '"jwt expired"')]
    assert findings_of("stored_token_refused", make_site(*runs)) == []


def test_headers_refused_as_too_large_are_server_misconfiguration() -> None:
    # Given a session cookie split into chunks big enough that the app (Node) answers 431, as an app
    # answers whose ID token carries a thousand groups.
    chunks = [set_cookie(f"appSession.{i}", f"‹secret:c4u4e{i:03d}›") for i in range(8)]
    runs = []
    for engine in ("chromium", "firefox"):
        protected = make_exchange(
            5, f"{APP}/profile", status=431, engine=engine,  # type: ignore[arg-type]
            cookies=[(sc.name, sc.value_fingerprint) for sc in chunks],
        )  # fmt: skip
        run = oidc_run(engine, protected)
        callback = run.exchanges[4].model_copy(update={"set_cookies": chunks})
        runs.append(run.model_copy(update={"exchanges": [*run.exchanges[:4], callback, run.exchanges[5]]}))
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "server-misconfiguration"
    assert verdict.confidence == DIRECT
    assert "answered 431" in verdict.summary and "8 cookies (appSession.0" in verdict.summary


def test_nginx_cookie_too_large_page_counts_and_a_plain_400_does_not() -> None:
    from loginprobe.checks.server import _headers_too_large

    nginx = make_exchange(0, status=400, body="400 Bad Request\nRequest Header Or Cookie Too Large\nnginx")
    assert _headers_too_large(nginx)
    assert not _headers_too_large(make_exchange(0, status=400, body="Bad Request"))


def test_a_sign_in_loop_of_a_signed_in_user_is_insufficient_permissions() -> None:
    # Given express-openid-connect's defaults (a refused claim sends the user to sign in), the provider
    # signs the user in at once each time and the app refuses again, until the browser gives up.
    exchanges: list[Exchange] = []
    for lap in range(3):
        base = lap * 3
        exchanges += [
            make_exchange(
                base, f"{APP}/admin", status=302, location=AUTH_REQUEST, cookies=[("appSession", SESSION)],
                set_cookies=[set_cookie("appSession", SESSION)],
            ),
            make_exchange(base + 1, AUTH_REQUEST, status=303, redirected_from=base),
            make_exchange(
                base + 2, CALLBACK, status=302, location="/admin", redirected_from=base + 1,
                set_cookies=[set_cookie("appSession", SESSION)],
            ),
        ]  # fmt: skip
    exchanges.append(make_exchange(9, AUTH_REQUEST, status=None, failure="net::ERR_TOO_MANY_REDIRECTS"))
    run = make_run(exchanges, flow="oidc", start_url=f"{APP}/login", protected_url=f"{APP}/admin")
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "insufficient-permissions"
    assert "back to sign in 3 times until the browser gave up" in verdict.summary


WEBKIT_BLIND = ["cookies_sent", "set_cookies", "cookies_not_sent", "challenge_headers"]


def _blind(run: RunEvidence) -> RunEvidence:
    """The same run as WebKitGTK over WebDriver records it: no Cookie or Set-Cookie headers to read."""
    return run.model_copy(update={"not_observable": WEBKIT_BLIND})


def test_a_callback_missing_its_cookie_in_an_engine_that_hides_cookies_is_an_honest_unknown() -> None:
    # Given WebKit, which cannot show whether it withheld the transaction cookie on the way back, and
    # the app saying that cookie was not found: no server-misconfiguration guess, an unknown that says
    # what WebKit could not observe.
    protected = make_exchange(5, f"{APP}/profile", status=401, body=REQUIRED)
    run = _blind(
        oidc_run("webkit", protected, callback_status=400, body='"auth_verification" cookie not found')
    )
    assert findings_of("callback_refused", make_site(run)) == []
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "unknown"
    assert "could not observe" in verdict.summary and "cookies each request carried" in verdict.summary


def test_a_callback_refused_for_another_reason_is_still_named_in_an_engine_that_hides_cookies() -> None:
    # The wrong client secret's answer names no cookie: WebKit's callback failure is still diagnosed.
    said = "server responded with a challenge in the WWW-Authenticate HTTP Header"
    protected = make_exchange(5, f"{APP}/profile", status=401, body=REQUIRED)
    run = _blind(oidc_run("webkit", protected, callback_status=400, body=said))
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "server-misconfiguration"
    assert said in verdict.summary


def test_headers_too_large_in_an_engine_that_hides_cookies_does_not_say_none_were_sent() -> None:
    # WebKit adds Cookie below what it shows: its 431 is still the site's limit, without "no cookie".
    protected = make_exchange(5, f"{APP}/profile", status=431, engine="webkit")  # type: ignore[arg-type]
    verdict = verdict_of(make_site(_blind(oidc_run("webkit", protected))))
    assert verdict.primary == "server-misconfiguration"
    assert "carried cookies webkit does not show" in verdict.summary and "no cookie" not in verdict.summary
