"""wrong-url, proxy-interference and server-misconfiguration."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    NEW_SESSION,
    T0,
    TOKEN_FP,
    api_call,
    auth,
    basic_login,
    challenge,
    chromium_http_auth,
    form_login,
    make_exchange,
    make_run,
    make_site,
    set_cookie,
)


def canonical_redirect_run(engine: str = "chromium", mode: str = "fresh") -> object:
    login = form_login(engine=engine, account_status=200)[:2]  # type: ignore[arg-type]
    return make_run(
        [
            *login,
            make_exchange(
                2,
                f"{APP}/account",
                status=301,
                redirected_from=1,
                location="http://localhost:5000/account",
                cookies=[("session", NEW_SESSION)],
                date=T0 + timedelta(seconds=1),
            ),
            make_exchange(
                3,
                "http://localhost:5000/account",
                status=401,
                redirected_from=2,
                challenges=[challenge("Cookie", realm="app")],
                date=T0 + timedelta(seconds=1),
            ),
        ],
        engine=engine,  # type: ignore[arg-type]
        mode=mode,
    )


def test_redirect_to_another_host_loses_the_session() -> None:
    runs = [canonical_redirect_run(e, m) for e in ("chromium", "firefox") for m in ("fresh", "persisted")]
    verdict = verdict_of(make_site(*runs))  # type: ignore[arg-type]
    assert verdict.primary == "wrong-url"
    assert "http://127.0.0.1:5000 got cookies session, http://localhost:5000 got none" in verdict.summary
    assert verdict.confidence == 0.9


@pytest.mark.parametrize(
    ("engine", "failure", "meaning"),
    [
        ("chromium", "net::ERR_CONNECTION_REFUSED", "nothing listens on that port"),
        ("chromium", "net::ERR_SSL_PROTOCOL_ERROR", "the port does not speak TLS"),
        ("firefox", "NS_ERROR_GENERATE_FAILURE(NS_ERROR_MODULE_SECURITY, SSL_ERROR_RX_RECORD_TOO_LONG)",
         "the port does not speak TLS"),
    ],
)  # fmt: skip
def test_an_https_redirect_to_a_port_without_tls_says_nothing_answered(
    engine: str, failure: str, meaning: str
) -> None:
    # Given nginx's `return 301 https://$host:PORT$request_uri;` where no TLS listener is
    exchanges = [
        make_exchange(0, f"{APP}/account", status=301, location="https://127.0.0.1:5443/account"),
        make_exchange(1, "https://127.0.0.1:5443/account", status=None, redirected_from=0, failure=failure),
    ]
    run = make_run(exchanges, engine=engine, flow="basic", protected_url=f"{APP}/account")  # type: ignore[arg-type]

    verdict = verdict_of(make_site(run))

    assert verdict.primary == "wrong-url"
    assert (
        f"nothing answered GET https://127.0.0.1:5443/account in {engine}/fresh ({failure}: {meaning})"
        in verdict.summary
    )
    (finding,) = findings_of("wrong_url", make_site(run))
    assert finding.next_step.startswith("Nothing answers at https://127.0.0.1:5443: make the server listen")


def test_a_redirect_never_counts_as_hidden_basic_credentials() -> None:
    # Given Chromium (which answers Basic below capture) sent to another origin by a 301 at the
    # configured URL, where the new origin's page answered 200
    moved = make_exchange(0, f"{APP}/old-staff/", status=301, location="http://localhost:5000/staff/")
    landed = make_exchange(1, "http://localhost:5000/staff/", status=200, redirected_from=0)
    run = make_run([moved, landed], flow="basic", protected_url=f"{APP}/old-staff/", success=False)
    run = run.model_copy(update={"hidden_request_headers": ["authorization"]})
    # Then the redirect is wrong-url, and the 301 is not said to have carried the credentials
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "wrong-url"
    assert "username and password" not in verdict.summary, verdict.summary
    assert "redirected (301, Location http://localhost:5000/staff/)" in verdict.summary


def test_unresolvable_host() -> None:
    ex = make_exchange(0, "http://app.exmaple.com/login", status=None, failure="net::ERR_NAME_NOT_RESOLVED")
    run = make_run([ex], protected_url="http://app.exmaple.com/account")
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "wrong-url"
    assert "does not resolve (net::ERR_NAME_NOT_RESOLVED)" in verdict.summary


def _bearer(status: int, *, via_proxy: bool, challenges: list[object] | None = None, **kw: object) -> object:
    exchanges = api_call(
        status=status,
        authorization=auth("Bearer", "alice", TOKEN_FP),
        challenges=challenges or [],  # type: ignore[arg-type]
        response_headers=[("Via", "1.1 corp-proxy")] if via_proxy else [],
    )
    return make_run(exchanges, via_proxy=via_proxy, flow="bearer", protected_url=f"{APP}/api/me", **kw)  # type: ignore[arg-type]


def test_proxy_strips_authorization() -> None:
    no_token = challenge("Bearer", realm="api", error_description="no access token")
    ev = make_site(
        _bearer(200, via_proxy=False),
        _bearer(401, via_proxy=True, challenges=[no_token]),
        _bearer(200, via_proxy=False, engine="firefox"),
        _bearer(401, via_proxy=True, challenges=[no_token], engine="firefox"),
    )
    verdict = verdict_of(ev)
    assert verdict.primary == "proxy-interference"
    assert verdict.confidence == 0.95
    assert "as if no credentials arrived" in verdict.summary
    assert "server-misconfiguration" not in verdict.contributing  # same token, but through another path


def test_proxy_answers_407() -> None:
    ex = make_exchange(
        1,
        f"{APP}/api/me",
        status=407,
        is_navigation=False,
        response_headers=[("Proxy-Authenticate", 'Basic realm="corp"')],
    )
    ex = ex.model_copy(update={"proxy_challenges": [challenge("Basic", realm="corp")]})
    ev = make_site(
        _bearer(200, via_proxy=False),
        make_run([ex], via_proxy=True, flow="bearer", protected_url=f"{APP}/api/me"),
    )
    verdict = verdict_of(ev)
    assert verdict.primary == "proxy-interference"
    assert 'asking `Basic realm="corp"`' in verdict.summary


def test_basic_401_without_challenge() -> None:
    runs = [
        make_run(basic_login(engine=e, offered=[], answered=False), engine=e, flow="basic")  # type: ignore[arg-type]
        for e in ("chromium", "firefox")
    ]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "server-misconfiguration"
    assert "without a WWW-Authenticate header" in verdict.summary
    assert "missing-credentials" not in verdict.contributing


def test_a_401_without_challenge_on_a_cookie_site_is_no_misconfiguration() -> None:
    # Cookie-session apps answer 401 without WWW-Authenticate: there is no scheme to answer (issue 10).
    runs = [make_run(form_login(login_status=401, account_challenges=[]))]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "invalid-credentials"
    assert "server-misconfiguration" not in verdict.contributing
    assert findings_of("no_challenge", make_site(*runs)) == []


def test_a_bearer_api_401_without_challenge_is_still_hygiene() -> None:
    run = make_run(
        api_call(status=401, authorization=auth("Bearer", fingerprint=TOKEN_FP)),
        flow="bearer",
        protected_url=f"{APP}/api/me",
    )
    found = findings_of("no_challenge", make_site(run))
    assert found and found[0].confidence < 0.5


def test_flapping_node_names_the_backend_difference() -> None:
    def run(ok: bool, mode: str, engine: str = "chromium") -> object:
        node = [("X-Served-By", "node-1" if ok else "node-2")]
        return make_run(
            form_login(engine=engine, account_status=200 if ok else 401, account_headers=node),  # type: ignore[arg-type]
            engine=engine,
            mode=mode,
        )  # type: ignore[arg-type]

    ev = make_site(
        run(True, "fresh"),
        run(False, "persisted"),
        run(True, "fresh", "firefox"),
        run(False, "persisted", "firefox"),
        make_run(form_login(account_status=200), mode="persisted", ablation="no-cache"),
        make_run(form_login(account_status=200), mode="persisted", ablation="no-cookies"),
    )
    verdict = verdict_of(ev)
    assert verdict.primary == "server-misconfiguration"
    assert "X-Served-By: node-1 on the success, node-2 on the failure" in verdict.summary
    # The differential runs are contributing at most: a flapping server also "fixes" itself. The
    # profile without its cache kept its cookies and signed in, so the cookies are not suspected.
    assert "stale-cache" in verdict.contributing
    assert "stale-cookie" not in verdict.contributing


def test_login_accepted_then_session_refused_everywhere() -> None:
    runs = [make_run(form_login(engine=e), engine=e) for e in ("chromium", "firefox")]  # type: ignore[arg-type]
    found = findings_of("accepted_then_refused", make_site(*runs))
    assert len(found) == 1 and found[0].confidence == 0.6
    # An access rule in front that answers 401 looks the same from the browser (nginx, measured)
    assert "`error_page 403 =401`" in found[0].next_step
    assert verdict_of(make_site(*runs)).primary == "server-misconfiguration"


def test_a_login_whose_session_never_came_along_is_not_a_refused_session() -> None:
    # Given a login that set a CSRF cookie and a session the browser dropped (too large to keep): the
    # protected request carried only the CSRF cookie, fresh from the same login
    csrf = set_cookie("csrftoken", "‹secret:c5f70001›")
    runs = []
    for engine in ("chromium", "firefox"):
        exchanges = form_login(engine=engine, account_cookies=[("csrftoken", "‹secret:c5f70001›")])  # type: ignore[arg-type]
        login = exchanges[1].model_copy(update={"set_cookies": [csrf, *exchanges[1].set_cookies]})
        runs.append(make_run([exchanges[0], login, exchanges[2]], engine=engine))  # type: ignore[arg-type]
    # Then the server did not refuse a session of its own: none reached it
    assert findings_of("accepted_then_refused", make_site(*runs)) == []


def test_a_500_to_the_credentials_the_challenge_asked_for() -> None:
    # Given Firefox's Basic login (401 with a challenge, then the credentials) answered 500 (an Apache
    # realm whose AuthUserFile it cannot open), and Chromium, which shows only the 500
    firefox = make_run(basic_login(engine="firefox", final_status=500), engine="firefox", flow="basic")
    chromium = chromium_http_auth(final_status=500, offered=[])
    # Then the server failed while it checked them: server-misconfiguration, not unknown
    verdict = verdict_of(make_site(firefox, chromium))
    assert verdict.primary == "server-misconfiguration"
    assert verdict.confidence == 0.85
    assert 'first answered 401 `Basic realm="Restricted"' in verdict.summary
    assert "then 500 to the request that carried Authorization: Basic" in verdict.summary
    chromium_only = verdict_of(make_site(chromium))
    assert chromium_only.primary == "server-misconfiguration"
    assert "out of the capture's sight" in chromium_only.summary


def test_a_500_through_the_proxy_only_is_the_proxy() -> None:
    direct = make_run(basic_login(engine="firefox"), engine="firefox", flow="basic")
    proxied = make_run(
        basic_login(engine="firefox", final_status=502), engine="firefox", flow="basic", via_proxy=True
    )
    ev = make_site(direct, proxied)
    assert findings_of("server_error", ev) == []
    assert verdict_of(ev).primary == "proxy-interference"
