"""A 401 or 403 whose server says it saw no credentials (DRF's "Authentication credentials were not
provided."): not a permissions refusal; the session cookie that did not go, or the missing login, is."""

from __future__ import annotations

from datetime import timedelta

from loginprobe.checks.common import says_not_authenticated
from loginprobe.evidence import Engine, Exchange
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    NEW_SESSION,
    OLD_SESSION,
    T0,
    auth,
    cookie,
    form_login,
    make_exchange,
    make_run,
    make_site,
    set_cookie,
)

NOT_PROVIDED = '{"detail":"Authentication credentials were not provided."}'
NO_PERMISSION = '{"detail":"You do not have permission to perform this action."}'
CSRF = "‹secret:c5rf0001›"


def _django_login(
    engine: Engine, session_attrs: dict[str, str], stored: bool | None, reasons: list[str]
) -> list[Exchange]:
    """Django's LoginView: the POST sets csrftoken and sessionid; the API then gets only csrftoken."""
    exchanges = form_login(engine=engine, account_status=403, account_cookies=[("csrftoken", CSRF)])
    post = exchanges[1].model_copy(
        update={
            "set_cookies": [
                set_cookie("csrftoken", CSRF),
                set_cookie("sessionid", stored=stored, reasons=reasons, **session_attrs),
            ]
        }
    )
    api = exchanges[2].model_copy(update={"challenges": [], "body_excerpt": NOT_PROVIDED})
    return [exchanges[0], post, api]


def test_drf_words_are_read_as_not_authenticated() -> None:
    said = says_not_authenticated(make_exchange(status=403, body=NOT_PROVIDED))
    assert said is not None and "credentials were not provided" in said
    assert says_not_authenticated(make_exchange(status=403, body=NO_PERMISSION)) is None
    # nginx's 401 page says "Authorization Required" for a wrong password too: not these words.
    assert (
        says_not_authenticated(make_exchange(status=401, body="<h1>401 Authorization Required</h1>")) is None
    )


def test_refused_session_cookie_behind_a_drf_403_is_cookie_blocked() -> None:
    # Given Django's login setting sessionid with a Domain of another site (Chromium says InvalidDomain),
    # when the API answers 403 "Authentication credentials were not provided." to a request that
    # carried only csrftoken, then the cause is the refused cookie, not a missing permission.
    run = make_run(_django_login("chromium", {"domain": "example.com"}, False, ["InvalidDomain"]))
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "cookie-blocked", verdict
    assert not findings_of("insufficient_permissions", make_site(run))
    assert "sessionid" in verdict.summary


def test_refused_session_cookie_with_the_403_body_unread_is_no_permission_problem() -> None:
    # The same, when the engine lost the 403's words (Chromium dropped a script's body in one CI run):
    # the accepted login's session never came along, so nobody was signed in to be refused.
    exchanges = _django_login("chromium", {"domain": "example.com"}, False, ["InvalidDomain"])
    unread = [*exchanges[:2], exchanges[2].model_copy(update={"body_excerpt": None})]
    site = make_site(make_run(unread))
    assert not findings_of("insufficient_permissions", site)
    assert verdict_of(site).primary == "cookie-blocked"


def test_session_cookie_on_another_path_behind_a_drf_403_is_cookie_blocked() -> None:
    # Firefox gives no reasons: the jar holds sessionid on Path=/admin/, which does not cover /account.
    run = make_run(_django_login("firefox", {"path": "/admin/"}, None, []), engine="firefox")
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "cookie-blocked", verdict
    assert "Path=/admin/" in verdict.summary


def test_accepted_login_without_its_session_is_at_least_missing_credentials() -> None:
    run = make_run(_django_login("firefox", {}, None, []), engine="firefox")
    (finding,) = findings_of("said_not_authenticated", make_site(run))
    assert finding.cause == "missing-credentials"
    assert "credentials were not provided" in finding.summary


def test_a_drf_403_naming_a_permission_stays_insufficient_permissions() -> None:
    api = make_exchange(
        0, f"{APP}/api/data/", status=403, authorization=auth("Token", None), body=NO_PERMISSION,
        is_navigation=False,
    )  # fmt: skip
    run = make_run([api], flow="bearer", credentials=["token"], protected_url=f"{APP}/api/data/")
    assert verdict_of(make_site(run)).primary == "insufficient-permissions"


def test_returning_visit_without_a_session_is_missing_credentials_not_permissions() -> None:
    # A returning visit whose session cookie is gone (expired in the browser): the app page's API call
    # carries nothing, the site shows no login form, the server says no credentials were provided.
    page = make_exchange(0, f"{APP}/app/", date=T0)
    api = make_exchange(
        1, f"{APP}/api/data/", status=403, body=NOT_PROVIDED, is_navigation=False,
        date=T0 + timedelta(seconds=1),
    )  # fmt: skip
    run = make_run(
        [page, api], mode="persisted", returning_visit=True, login_ran=False,
        protected_url=f"{APP}/api/data/",
    )  # fmt: skip
    site = make_site(run)
    assert not findings_of("insufficient_permissions", site)
    (finding,) = findings_of("said_not_authenticated", site)
    assert "returning visit" in finding.summary
    assert verdict_of(site).primary == "missing-credentials"


def test_returning_visit_with_a_session_the_server_forgot_is_no_permission_problem() -> None:
    # The session was deleted on the server: the old sessionid goes, the server says not provided.
    page = make_exchange(0, f"{APP}/app/", date=T0, cookies=[("sessionid", OLD_SESSION)])
    api = make_exchange(
        1, f"{APP}/api/data/", status=403, body=NOT_PROVIDED, is_navigation=False,
        cookies=[("sessionid", OLD_SESSION)], date=T0 + timedelta(seconds=1),
    )  # fmt: skip
    run = make_run(
        [page, api], mode="persisted", returning_visit=True, login_ran=False,
        protected_url=f"{APP}/api/data/", before_cookies=[cookie("sessionid", OLD_SESSION)],
    )  # fmt: skip
    site = make_site(run)
    assert not findings_of("insufficient_permissions", site)
    assert not findings_of("said_not_authenticated", site)
    assert verdict_of(site).primary == "stale-cookie"


def test_returning_visit_without_the_session_cookie_a_login_sets_is_stale_cookie() -> None:
    # Given a session cookie with Max-Age=20 that expired between visits (csrftoken, a year long, stayed),
    # when the returning visit's API call goes without it and signing in again fixes it,
    # then the session ended: stale-cookie, naming the cookie and its lifetime.
    page = make_exchange(0, f"{APP}/app/", date=T0, cookies=[("csrftoken", CSRF)])
    api = make_exchange(
        1, f"{APP}/api/data/", status=403, body=NOT_PROVIDED, is_navigation=False,
        cookies=[("csrftoken", CSRF)], date=T0 + timedelta(seconds=1),
    )  # fmt: skip
    returning = make_run(
        [page, api], mode="persisted", returning_visit=True, login_ran=False,
        protected_url=f"{APP}/api/data/", before_cookies=[cookie("csrftoken", CSRF)],
    )  # fmt: skip
    login = form_login(account_status=200)
    post = login[1].model_copy(update={"set_cookies": [set_cookie("sessionid", max_age="20")]})
    api_ok = make_exchange(
        3,
        f"{APP}/api/data/",
        is_navigation=False,
        cookies=[("csrftoken", CSRF), ("sessionid", NEW_SESSION)],
    )
    relogin = make_run(
        [login[0], post, login[2], api_ok], mode="persisted", ablation="relogin",
        protected_url=f"{APP}/api/data/", before_cookies=[cookie("csrftoken", CSRF)],
    )  # fmt: skip
    site = make_site(returning, relogin)
    (finding,) = findings_of("session_cookie_gone", site)
    assert "`sessionid`" in finding.summary and "Max-Age=20" in finding.summary
    verdict = verdict_of(site)
    assert verdict.primary == "stale-cookie"
    assert "`sessionid`" in verdict.summary


def test_a_session_the_returning_profile_still_held_is_not_gone() -> None:
    page = make_exchange(0, f"{APP}/app/", date=T0, cookies=[("sessionid", OLD_SESSION)])
    api = make_exchange(
        1, f"{APP}/api/data/", status=403, body=NOT_PROVIDED, is_navigation=False,
        cookies=[("sessionid", OLD_SESSION)],
    )  # fmt: skip
    returning = make_run(
        [page, api], mode="persisted", returning_visit=True, login_ran=False,
        protected_url=f"{APP}/api/data/", before_cookies=[cookie("sessionid", OLD_SESSION)],
    )  # fmt: skip
    login = form_login(account_status=200)
    post = login[1].model_copy(update={"set_cookies": [set_cookie("sessionid")]})
    relogin = make_run(
        [login[0], post, login[2]], mode="persisted", ablation="relogin", protected_url=f"{APP}/account",
    )  # fmt: skip
    assert not findings_of("session_cookie_gone", make_site(returning, relogin))


def test_an_http_auth_url_that_never_challenges_is_missing_credentials() -> None:
    # httpbin's /hidden-basic-auth answers 404 until the right Authorization comes: no 401 ever asks.
    hidden = make_exchange(0, f"{APP}/hidden/", status=404, body="<h1>Not Found</h1>")
    run = make_run([hidden], flow="basic", protected_url=f"{APP}/hidden/")
    (finding,) = findings_of("never_challenged", make_site(run))
    assert finding.cause == "missing-credentials"
    assert "without a `WWW-Authenticate` challenge" in finding.summary
    assert verdict_of(make_site(run)).primary == "missing-credentials"
    # A form login's 404 is no HTTP-auth question.
    assert not findings_of("never_challenged", make_site(make_run([hidden], protected_url=f"{APP}/hidden/")))


def test_a_403_to_a_request_with_only_a_csrf_cookie_is_no_permission_problem() -> None:
    # A returning visit whose 403 body was not recorded: a CSRF cookie alone proves no sign-in.
    page = make_exchange(0, f"{APP}/app/", date=T0, cookies=[("csrftoken", CSRF)])
    api = make_exchange(
        1, f"{APP}/api/data/", status=403, is_navigation=False, cookies=[("csrftoken", CSRF)],
    )  # fmt: skip
    run = make_run(
        [page, api], mode="persisted", returning_visit=True, login_ran=False,
        protected_url=f"{APP}/api/data/", before_cookies=[cookie("csrftoken", CSRF)],
    )  # fmt: skip
    assert not findings_of("insufficient_permissions", make_site(run))
    # A session cookie next to it is a signed-in user refused: insufficient-permissions.
    signed_in = api.model_copy(
        update={
            "request_headers": [("Cookie", f"csrftoken={CSRF}; sessionid={NEW_SESSION}")],
            "cookies_sent": ["csrftoken", "sessionid"],
        }
    )
    run = make_run([page, signed_in], protected_url=f"{APP}/api/data/")
    assert findings_of("insufficient_permissions", make_site(run))
