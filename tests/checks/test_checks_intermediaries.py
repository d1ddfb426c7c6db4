"""Intermediaries that remove a header on the way: the session cookie on the way in, Set-Cookie on the way
out. Shapes measured on Varnish (`unset req.http.Cookie`, `unset beresp.http.Set-Cookie`, which add `Via`
and `X-Varnish`) and nginx (`proxy_hide_header Set-Cookie`, which adds nothing) in front of Django."""

from __future__ import annotations

from datetime import timedelta

from loginprobe.evidence import Exchange, Header, SiteEvidence
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import APP, T0, auth, challenge, form_login, make_exchange, make_run, make_site

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
