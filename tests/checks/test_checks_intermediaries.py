"""Intermediaries that change what passes: the session cookie or a bearer token removed on the way in,
Set-Cookie on the way out, another Host passed to the app. Shapes measured on Varnish (`unset
req.http.Cookie`, `unset beresp.http.Set-Cookie`, `unset req.http.Authorization`, which add `Via` and
`X-Varnish`), nginx (`proxy_hide_header Set-Cookie`, its default Host, which add nothing) and Apache
(`ProxyVia On` without `ProxyPreserveHost`) in front of Django and httpbin."""

from __future__ import annotations

from datetime import timedelta

from loginprobe.evidence import Exchange, Header, SiteEvidence
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    T0,
    TOKEN_FP,
    api_call,
    auth,
    challenge,
    form_login,
    make_exchange,
    make_run,
    make_site,
    set_cookie,
)

VARNISH: list[Header] = [("Via", "1.1 varnish (Varnish/7.1)"), ("X-Varnish", "32778")]
NOT_PROVIDED = '{"detail": "Authentication credentials were not provided."}'
CSRF_403 = (
    "Forbidden (403)\nCSRF verification failed. Request aborted.\nYou are seeing this message because this "
    "site requires a CSRF cookie when submitting forms."
)


def _cookie_dropped(hop: list[Header], **run: object) -> SiteEvidence:
    """A form login whose session is set and sent, and the server's "not provided" to it."""
    runs = []
    for engine in ("chromium", "firefox"):
        exchanges = form_login(engine=engine, account_challenges=[], account_headers=hop)
        exchanges[2] = exchanges[2].model_copy(update={"body_excerpt": NOT_PROVIDED})
        runs.append(make_run(exchanges, engine=engine, **run))  # type: ignore[arg-type]
    return make_site(*runs)


def test_a_session_refused_as_not_provided_behind_varnish_lost_its_cookie_on_the_way() -> None:
    # Given the session the login had just set, sent with the request, and "not provided" through Varnish
    verdict = verdict_of(_cookie_dropped(VARNISH))
    # Then the intermediary dropped the Cookie header, in both engines
    assert verdict.primary == "proxy-interference", verdict.summary
    assert "Via: 1.1 varnish (Varnish/7.1)" in verdict.summary
    assert set(verdict.engines_failing) == {"chromium", "firefox"}


def test_without_an_intermediary_header_it_stays_a_server_finding() -> None:
    ev = _cookie_dropped([])
    assert findings_of("session_cookie_lost_on_the_way", ev) == []
    assert verdict_of(ev).primary == "server-misconfiguration"


def test_a_session_that_got_through_in_another_run_is_not_a_dropped_cookie() -> None:
    # Given one run signed in through the same intermediary (flapping nodes, not a proxy that strips)
    failing = _cookie_dropped(VARNISH).runs[0]
    passed = make_run(form_login(account_status=200, account_headers=VARNISH), mode="persisted")
    assert findings_of("session_cookie_lost_on_the_way", make_site(failing, passed)) == []


def test_a_request_with_authorization_is_left_to_the_lost_credential_check() -> None:
    exchanges = form_login(account_challenges=[challenge("Token")], account_headers=VARNISH)
    exchanges[2] = exchanges[2].model_copy(
        update={"body_excerpt": NOT_PROVIDED, "authorization": auth("Token", None, "‹secret:70ce0001›")}
    )
    assert findings_of("session_cookie_lost_on_the_way", make_site(make_run(exchanges))) == []


def _never_set(hop: list[Header], login_status: int, login_body: str | None) -> SiteEvidence:
    """A form login in which no response sets a cookie; the protected page is refused without one."""
    runs = []
    earlier = T0 - timedelta(seconds=1)
    for engine in ("chromium", "firefox"):
        exchanges: list[Exchange] = [
            make_exchange(0, f"{APP}/login", engine=engine, response_headers=hop, date=earlier),
            make_exchange(
                1, f"{APP}/login", "POST", login_status, engine=engine, response_headers=hop, body=login_body,
                location=f"{APP}/account" if 300 <= login_status < 400 else None, date=T0,
            ),
            make_exchange(
                2, f"{APP}/account", status=401, engine=engine, response_headers=hop, body=NOT_PROVIDED,
                redirected_from=1 if 300 <= login_status < 400 else None,
            ),
        ]  # fmt: skip
        runs.append(make_run(exchanges, engine=engine))
    return make_site(*runs)


def test_a_csrf_refusal_with_no_set_cookie_behind_varnish_is_proxy_interference() -> None:
    # Given no Set-Cookie anywhere, the login refused 403 "requires a CSRF cookie", answers with Via
    verdict = verdict_of(_never_set(VARNISH, 403, CSRF_403))
    # Then Varnish removed Set-Cookie on the way back
    assert verdict.primary == "proxy-interference", verdict.summary
    assert "requires a CSRF cookie" in verdict.summary
    assert "X-Varnish: 32778" in verdict.summary


def test_an_accepted_login_that_set_no_cookie_behind_varnish_is_proxy_interference() -> None:
    # Given the login redirected onward (accepted) without Set-Cookie, and the next page refused
    verdict = verdict_of(_never_set(VARNISH, 302, None))
    assert verdict.primary == "proxy-interference", verdict.summary
    assert "with no cookie to send" in verdict.summary


def test_no_set_cookie_and_no_intermediary_header_is_server_misconfiguration() -> None:
    # Given nginx `proxy_hide_header Set-Cookie`, which leaves no trace in the answers
    ev = _never_set([], 403, CSRF_403)
    assert findings_of("set_cookie_removed_on_the_way", ev) == []
    verdict = verdict_of(ev)
    assert verdict.primary == "server-misconfiguration", verdict.summary
    assert "proxy_hide_header Set-Cookie" in verdict.next_step


def test_a_wrong_password_answered_with_the_form_again_is_not_a_missing_cookie() -> None:
    ev = _never_set(VARNISH, 200, "Please enter a correct username and password.")
    assert findings_of("set_cookie_removed_on_the_way", ev) == []
    assert findings_of("session_cookie_never_set", ev) == []


# -- a bearer token answered with a bare challenge through a hop --------------------------------------


def _bearer(hop: list[Header], offered: str) -> SiteEvidence:
    runs = []
    for engine in ("chromium", "firefox"):
        sent = auth("Bearer", None, TOKEN_FP)
        exchanges = api_call(engine=engine, status=401, authorization=sent, challenges=[challenge(offered)])
        exchanges[-1] = exchanges[-1].model_copy(
            update={"response_headers": [*exchanges[-1].response_headers, *hop]}
        )
        runs.append(make_run(exchanges, engine=engine, flow="bearer", protected_url=f"{APP}/api/me"))
    return make_site(*runs)


def test_a_bare_bearer_challenge_through_varnish_is_a_contributing_suspicion() -> None:
    # Given a bearer token sent, a `Bearer` challenge without error= (RFC 6750's answer to no token),
    # through Varnish (measured: `unset req.http.Authorization` in front of httpbin's /bearer)
    verdict = verdict_of(_bearer(VARNISH, "Bearer"))
    # Then the refusal stays primary and the hop is named as a suspicion
    assert verdict.primary == "invalid-credentials", verdict.summary
    suspected = [f for f in verdict.findings if f.check == "bearer_unseen_behind_hop"]
    assert {e for f in suspected for e in f.engines} == {"chromium", "firefox"}
    assert all(f.confidence < 0.85 and "RFC 6750" in f.summary for f in suspected)


def test_a_bare_bearer_challenge_without_a_hop_raises_no_suspicion() -> None:
    assert findings_of("bearer_unseen_behind_hop", _bearer([], "Bearer")) == []


# -- the login form refused as forged (the proxy passed another Host) ---------------------------------

CSRF_FAILED = (
    "Forbidden (403)\nCSRF verification failed. Request aborted.\n"
    "More information is available with DEBUG=True."
)


def _forged(hop: list[Header], cookie_sent: bool = True) -> SiteEvidence:
    """GET the form (sets csrftoken), POST it back with the cookie: 403 CSRF; the protected page 401."""
    runs = []
    for engine in ("chromium", "firefox"):
        csrf = set_cookie("csrftoken", "‹secret:c5af0001›")
        sent = [("csrftoken", "‹secret:c5af0001›")] if cookie_sent else []
        exchanges = [
            make_exchange(0, f"{APP}/login", engine=engine, set_cookies=[csrf], response_headers=hop,
                          date=T0 - timedelta(seconds=1)),
            make_exchange(1, f"{APP}/login", "POST", 403, engine=engine, cookies=sent, response_headers=hop,
                          body=CSRF_FAILED, date=T0),
            make_exchange(2, f"{APP}/account", status=401, engine=engine, cookies=sent, response_headers=hop,
                          body=NOT_PROVIDED),
        ]  # fmt: skip
        runs.append(make_run(exchanges, engine=engine))
    return make_site(*runs)


def test_a_login_refused_as_forged_through_a_hop_is_proxy_interference() -> None:
    # Given Apache without `ProxyPreserveHost On` (`ProxyVia On`): Django compares the browser's Origin
    # with the backend's address and refuses its own form, although the CSRF cookie came along
    verdict = verdict_of(_forged([("Via", "1.1 127.0.0.1:46051")]))
    assert verdict.primary == "proxy-interference", verdict.summary
    assert "CSRF verification failed" in verdict.summary
    assert "ProxyPreserveHost On" in verdict.next_step


def test_a_login_refused_as_forged_without_a_hop_is_server_misconfiguration() -> None:
    # Given nginx's default `proxy_set_header Host $proxy_host`, which leaves no trace in the answers
    verdict = verdict_of(_forged([]))
    assert verdict.primary == "server-misconfiguration", verdict.summary
    assert "csrftoken" in verdict.summary


def test_a_forgery_refusal_without_the_sites_cookie_is_not_a_host_mismatch() -> None:
    # The CSRF cookie did not come along: the cookie checks explain that, not the Host
    ev = _forged([], cookie_sent=False)
    assert findings_of("login_refused_as_forgery", ev) == []
    assert findings_of("login_forged_behind_hop", ev) == []


# -- the login page itself refused ---------------------------------------------------------------------


def _start_page(status: int) -> SiteEvidence:
    runs = []
    for engine in ("chromium", "firefox"):
        exchanges = [
            make_exchange(0, f"{APP}/login", "GET", status, engine=engine, body="Bad Request (400)"),
            make_exchange(1, f"{APP}/account", "GET", status, engine=engine, body="Bad Request (400)"),
        ]
        runs.append(make_run(exchanges, engine=engine, start_url=f"{APP}/login"))
    return make_site(*runs)


def test_a_login_page_answering_400_to_every_visit_is_server_misconfiguration() -> None:
    # Given nginx `proxy_set_header Host backend.internal;`: Django's ALLOWED_HOSTS answers 400 everywhere
    verdict = verdict_of(_start_page(400))
    assert verdict.primary == "server-misconfiguration", verdict.summary
    assert "ALLOWED_HOSTS" in verdict.summary


def test_a_login_page_that_answers_is_not_refused() -> None:
    assert findings_of("start_page_refused", _start_page(404)) == []


def test_a_form_refused_for_a_missing_cookie_it_carried_lost_the_cookie_on_the_way() -> None:
    # Given Varnish `unset req.http.Cookie` everywhere: the POST carries csrftoken, Django says it
    # "requires a CSRF cookie"
    ev = _forged(VARNISH)
    no_cookie = CSRF_403 + " If you have configured your browser to disable cookies, please re-enable them."
    runs = [
        run.model_copy(
            update={"exchanges": [ex.model_copy(update={"body_excerpt": no_cookie}) if ex.id == 1 else ex
                                  for ex in run.exchanges]}
        )
        for run in ev.runs
    ]  # fmt: skip
    verdict = verdict_of(make_site(*runs))
    # Then the Cookie header was removed on the way, not the Host changed
    assert verdict.primary == "proxy-interference", verdict.summary
    assert "requires a CSRF cookie" in verdict.summary
    assert "Cookie header was removed" in verdict.summary
    assert "unset req.http.Cookie" in verdict.next_step
