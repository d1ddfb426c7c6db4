"""Redirect loops measured on real software (nginx in front of Django): the site's own rules going round
(server-misconfiguration), and a login page that bounces a signed-in user back to a page that sends
them to sign in (insufficient-permissions); a redirect that merely fails is neither."""

from __future__ import annotations

import pytest

from loginprobe.evidence import Exchange, RunEvidence
from loginprobe.verdict import HEURISTIC, INFERRED_STRONG, INFERRED_WEAK
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import APP, make_exchange, make_run, make_site, set_cookie

CSRF = "‹secret:c5f70001›"
SESSION = "‹secret:5e550001›"
LOGIN = f"{APP}/accounts/login/"
GAVE_UP = {"chromium": "net::ERR_TOO_MANY_REDIRECTS", "firefox": "NS_ERROR_REDIRECT_LOOP"}


def login(engine: str, landing: str) -> list[Exchange]:
    """Django's login page and its accepted POST (302 to `landing`, csrftoken and sessionid set)."""
    return [
        make_exchange(
            0, f"{LOGIN}?next={landing}", engine=engine, set_cookies=[set_cookie("csrftoken", CSRF)]
        ),
        make_exchange(
            1, LOGIN, "POST", 302, engine=engine, location=landing, cookies=[("csrftoken", CSRF)],
            set_cookies=[set_cookie("csrftoken", CSRF), set_cookie("sessionid", SESSION)],
        ),
    ]  # fmt: skip


def looping_run(engine: str, laps: list[tuple[str, str]], cookies: list[tuple[str, str]]) -> RunEvidence:
    """The login, then a redirect chain from its POST that goes round `laps` (URL, Location) until the
    browser gives up on the 20th hop; the protected URL is the first lap's URL. WebKitGTK records no
    error (its last hop never answers) and shows neither Set-Cookie nor Cookie headers."""
    webkit = engine == "webkit"
    exchanges = login(engine, laps[0][0].removeprefix(APP))
    for hop in range(20):
        url, location = laps[hop % len(laps)]
        last = hop == 19
        exchanges.append(
            make_exchange(
                hop + 2, url, status=None if last and engine != "firefox" else 302, engine=engine,
                location=None if last else location, redirected_from=hop + 1,
                cookies=[] if webkit else cookies, failure=GAVE_UP.get(engine) if last else None,
            )
        )  # fmt: skip
    if webkit:
        exchanges = [ex.model_copy(update={"set_cookies": []}) for ex in exchanges]
    run = make_run(exchanges, engine=engine, start_url=f"{LOGIN}?next=/reports/", protected_url=laps[0][0])  # type: ignore[arg-type]
    hidden = ["cookies_sent", "set_cookies", "cookies_not_sent", "challenge_headers"] if webkit else []
    return run.model_copy(update={"not_observable": hidden})


SLASH_LOOP = [(f"{APP}/app/", f"{APP}/app"), (f"{APP}/app", "/app/")]
LOGIN_LOOP = [
    (f"{APP}/reports/", "/accounts/login/?next=/reports/"),
    (f"{LOGIN}?next=/reports/", "/reports/"),
]
SIGNED_IN = [("csrftoken", CSRF), ("sessionid", SESSION)]
CSRF_ONLY = [("csrftoken", CSRF)]


@pytest.mark.parametrize("engine", ["chromium", "firefox", "webkit"])
def test_the_sites_own_redirects_in_a_circle_are_server_misconfiguration(engine: str) -> None:
    # Given nginx stripping the trailing slash that Django's APPEND_SLASH adds back, after the login
    run = looping_run(engine, SLASH_LOOP, SIGNED_IN)

    verdict = verdict_of(make_site(run))

    assert verdict.primary == "server-misconfiguration"
    (finding,) = findings_of("redirect_loop_found", make_site(run))
    assert finding.confidence == INFERRED_STRONG
    assert (
        f"until the browser gave up ({GAVE_UP.get(engine, 'the last hop never answered')})" in finding.summary
    )
    assert "go round in a circle" in finding.summary
    assert not findings_of("login_page_loop", make_site(run))


@pytest.mark.parametrize("engine", ["chromium", "firefox", "webkit"])
def test_a_login_page_bouncing_a_signed_in_user_is_insufficient_permissions(engine: str) -> None:
    # Given a view that sends users it refuses to the login page, and a login page that sends signed-in
    # users on to `next` (Django's redirect_authenticated_user), the session riding along every lap
    run = looping_run(engine, LOGIN_LOOP, SIGNED_IN)

    verdict = verdict_of(make_site(run))

    assert verdict.primary == "insufficient-permissions"
    (finding,) = findings_of("login_page_loop", make_site(run))
    # Where the engine shows no cookies, the login page's redirect alone says it knew the user
    assert finding.confidence == (HEURISTIC if engine == "webkit" else INFERRED_WEAK)
    assert f"{APP}/reports/ sent the user to sign in" in finding.summary
    assert not findings_of("redirect_loop_found", make_site(run))


@pytest.mark.parametrize("engine", ["chromium", "firefox"])
def test_a_fixed_route_to_the_login_page_is_server_misconfiguration(engine: str) -> None:
    # Given LOGIN_REDIRECT_URL pointing at a page that always redirects to the login page (no return
    # URL: a route, not an access guard), and a login page that sends signed-in users on to it
    fixed_route = [(f"{APP}/dashboard/", "/accounts/login/"), (LOGIN, "/dashboard/")]
    run = looping_run(engine, fixed_route, SIGNED_IN)

    assert verdict_of(make_site(run)).primary == "server-misconfiguration"
    assert not findings_of("login_page_loop", make_site(run))


@pytest.mark.parametrize(("cookies", "cause"), [(SIGNED_IN, "insufficient-permissions"), (CSRF_ONLY, None)])
def test_a_returning_visit_bounced_by_the_login_page(
    cookies: list[tuple[str, str]], cause: str | None
) -> None:
    # Given a returning user (no login this run) whose profile's session goes round the guard loop
    exchanges = [
        make_exchange(
            hop, LOGIN_LOOP[hop % 2][0], status=None if hop == 19 else 302,
            redirected_from=hop - 1 if hop else None, location=None if hop == 19 else LOGIN_LOOP[hop % 2][1],
            cookies=cookies,
            failure=GAVE_UP["chromium"] if hop == 19 else None,
        )
        for hop in range(20)
    ]  # fmt: skip
    run = make_run(exchanges, mode="persisted", returning_visit=True, login_ran=False,
                   start_url=f"{APP}/reports/", protected_url=f"{APP}/reports/")  # fmt: skip

    found = findings_of("login_page_loop", make_site(run))

    # Then the login page knew the user by the profile's session cookie; a CSRF cookie alone says nothing
    assert [f.cause for f in found] == ([cause] if cause else [])


def test_a_login_page_loop_without_the_session_is_no_permissions_finding() -> None:
    # Given the same loop where the session cookie never came along: the login page did not know the
    # user from this session, so nothing says the user was refused
    run = looping_run("firefox", LOGIN_LOOP, [("csrftoken", CSRF)])

    assert not findings_of("login_page_loop", make_site(run))


def test_a_long_chain_that_never_comes_back_is_no_loop() -> None:
    # Given twelve distinct hops (a chain that only grows) ending unanswered: no URL came back
    exchanges = [
        make_exchange(i, f"{APP}/step/{i}", status=None if i == 11 else 302, location=f"/step/{i + 1}",
                      redirected_from=i - 1 if i else None, engine="webkit")
        for i in range(12)
    ]  # fmt: skip
    site = make_site(make_run(exchanges, engine="webkit", protected_url=f"{APP}/step/0"))

    assert not findings_of("redirect_loop_found", site)


def test_a_redirect_to_a_port_nobody_answers_is_no_loop() -> None:
    exchanges = [
        make_exchange(0, f"{APP}/account", status=301, location="https://127.0.0.1:5443/account"),
        make_exchange(1, "https://127.0.0.1:5443/account", status=None, redirected_from=0,
                      failure="net::ERR_CONNECTION_REFUSED"),
    ]  # fmt: skip
    site = make_site(make_run(exchanges, flow="basic"))

    assert not findings_of("redirect_loop_found", site)
    assert not findings_of("login_page_loop", site)
