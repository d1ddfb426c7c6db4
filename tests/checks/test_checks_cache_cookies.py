"""stale-cache, stale-cookie and cookie-blocked, as Chromium and Firefox record them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from loginprobe.evidence import CacheStorageEntry, CookieNotSent, ServiceWorkerRecord
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    IDP,
    NEW_SESSION,
    OLD_SESSION,
    T0,
    challenge,
    cookie,
    form_login,
    make_exchange,
    make_run,
    make_site,
    set_cookie,
)

CANONICAL = "http://localhost:5000"


def cached_redirect_run(
    *, engine: str = "chromium", served_from: str = "disk-cache", old_date_s: float = 0
) -> object:
    """A returning browser: login lands on /, then /account follows a cached 301 to another host."""
    login = form_login(engine=engine, account_status=200)[:2]  # type: ignore[arg-type]
    stored_301 = T0 - timedelta(hours=2) if old_date_s else T0 + timedelta(seconds=1)
    return make_run(
        [
            *login,
            make_exchange(
                2,
                f"{APP}/account",
                status=301,
                engine=engine,  # type: ignore[arg-type]
                location=f"{CANONICAL}/account",
                served_from=served_from,
                date=stored_301,
                started_at=T0 + timedelta(seconds=1),
                cookies=[("session", NEW_SESSION)],
            ),
            make_exchange(
                3,
                f"{CANONICAL}/account",
                status=401,
                engine=engine,  # type: ignore[arg-type]
                redirected_from=2,
                challenges=[challenge("Cookie", realm="app")],
                date=T0 + timedelta(seconds=2),
            ),
        ],
        engine=engine,  # type: ignore[arg-type]
        mode="persisted",
    )


def test_cached_permanent_redirect_is_stale_cache_not_wrong_url() -> None:
    failing = cached_redirect_run()
    ev = make_site(
        make_run(form_login(account_status=200)),
        failing,
        make_run(form_login(account_status=200), mode="persisted", ablation="no-cache"),
    )
    verdict = verdict_of(ev)
    assert verdict.primary == "stale-cache"
    assert "wrong-url" in verdict.contributing
    assert (
        "301 for GET http://127.0.0.1:5000/account in chromium/persisted came from the browser's disk cache"
        in verdict.summary
    )
    assert "signed in" in verdict.summary  # the no-cache differential confirms it
    assert verdict.findings[0].exchange_id == 2


def test_firefox_cached_redirect_seen_through_its_old_date() -> None:
    # Firefox's timing heuristic missed the cache hit: served_from says network, the Date gives it away.
    failing = cached_redirect_run(engine="firefox", served_from="network", old_date_s=7200)
    verdict = verdict_of(
        make_site(make_run(form_login(engine="firefox", account_status=200), engine="firefox"), failing)
    )
    assert verdict.primary == "stale-cache"
    assert "older than the server's clock" in verdict.summary


def test_redirect_that_the_server_still_sends_is_wrong_url_not_stale_cache() -> None:
    fresh = cached_redirect_run(served_from="network")
    fresh = fresh.model_copy(update={"mode": "fresh"})  # type: ignore[attr-defined]
    persisted = cached_redirect_run()
    verdict = verdict_of(make_site(fresh, persisted))
    assert verdict.primary == "wrong-url"
    assert "http://localhost:5000" in verdict.summary


def test_service_worker_replays_a_401() -> None:
    sw = ServiceWorkerRecord(scope=f"{APP}/app/", script_url=f"{APP}/app/sw.js", state="activated")
    entry = CacheStorageEntry(cache_name="app-v1", url=f"{APP}/app/data", status=401)
    exchanges = form_login(account_status=401)
    exchanges[2] = exchanges[2].model_copy(update={"url": f"{APP}/app/data", "served_from": "service-worker"})
    run = make_run(
        exchanges,
        mode="persisted",
        protected_url=f"{APP}/app/data",
        service_workers=[sw],
        cache_storage=[entry],
    )
    verdict = verdict_of(
        make_site(make_run(form_login(account_status=200), protected_url=f"{APP}/account"), run)
    )
    assert verdict.primary == "stale-cache"
    assert "a service worker" in verdict.summary and 'cache "app-v1" held a 401' in verdict.summary


def test_shared_cache_hit_on_every_run() -> None:
    hit = [
        ("X-Cache", "HIT"),
        ("Age", "120"),
        ("Via", "1.1 edge-cache"),
        ("Cache-Control", "public, s-maxage=3600"),
    ]
    runs = [
        make_run(form_login(engine=engine, account_headers=hit), engine=engine, mode=mode)  # type: ignore[arg-type]
        for engine in ("chromium", "firefox")
        for mode in ("fresh", "persisted")
    ]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "stale-cache"
    assert "shared-cache hit (x-cache HIT)" in verdict.summary
    assert "server-misconfiguration" not in [f.cause for f in verdict.findings if f.confidence >= 0.5]


def test_cacheable_401_in_a_healthy_basic_site_is_only_contributing() -> None:
    # The challenge 401 of a successful Basic login carries max-age: hygiene, not a cause.
    from tests.evidence_factory import basic_login

    exchanges = basic_login(response_headers=[("Cache-Control", "max-age=600")])
    verdict = verdict_of(make_site(make_run(exchanges, flow="basic")))
    assert verdict.primary == "none"
    assert verdict.contributing == ["stale-cache"]
    assert (
        "max-age=600" in verdict.findings[0].summary
        and "no Vary: Cookie/Authorization" in verdict.findings[0].summary
    )


def test_session_lost_by_the_server_is_stale_cookie() -> None:
    # Given a returning browser whose old session the server forgot; the login page trusts the cookie.
    old = cookie("session", OLD_SESSION)
    persisted = make_run(
        [
            make_exchange(
                0, f"{APP}/login", status=302, location=f"{APP}/account", cookies=[("session", OLD_SESSION)]
            ),
            make_exchange(
                1,
                f"{APP}/account",
                status=401,
                redirected_from=0,
                cookies=[("session", OLD_SESSION)],
                challenges=[challenge("Cookie", realm="app")],
            ),
        ],
        mode="persisted",
        before_cookies=[old],
    )
    ev = make_site(
        make_run(form_login(account_status=200)),
        persisted,
        make_run(form_login(account_status=200), mode="persisted", ablation="no-cookies"),
        make_run(persisted.exchanges, mode="persisted", ablation="no-cache", before_cookies=[old]),
    )
    verdict = verdict_of(ev)
    assert verdict.primary == "stale-cookie"
    # Removing the cookies forced a new login, which refreshes more than cookies: one inference.
    assert verdict.confidence == 0.85
    assert f"sent `session` ({OLD_SESSION}, Path=/) unchanged from before the run" in verdict.summary


def test_shadowed_cookie_on_a_longer_path() -> None:
    old = cookie("session", OLD_SESSION, path="/account")
    exchanges = form_login(account_cookies=[("session", OLD_SESSION), ("session", NEW_SESSION)])
    run = make_run(exchanges, mode="persisted", before_cookies=[old])
    found = findings_of("stale_cookie", make_site(make_run(form_login(account_status=200)), run))
    assert found[0].confidence == 0.85
    assert "2 cookies named session" in found[0].summary and "Path=/account" in found[0].summary
    assert findings_of("flapping", make_site(make_run(form_login(account_status=200)), run)) == []


def test_chromium_refuses_a_cookie_for_another_domain() -> None:
    blocked = set_cookie(domain="app.example", stored=False, reasons=["DomainMismatch"])
    runs = [make_run(form_login(session=blocked)), make_run(form_login(session=blocked), mode="persisted")]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "cookie-blocked"
    assert "DomainMismatch: its Domain does not match the host" in verdict.summary


def test_firefox_cookie_for_another_domain_inferred_from_the_jar() -> None:
    dropped = set_cookie(domain="app.example")
    exchanges = form_login(engine="firefox", session=dropped, account_cookies=[])
    run = make_run(exchanges, engine="firefox", after_cookies=[])
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "cookie-blocked"
    assert "Domain=app.example does not match the host 127.0.0.1" in verdict.summary


@pytest.mark.parametrize(("size", "cause"), [(5121, "cookie-blocked"), (4000, None)])
def test_firefox_cookie_too_large_to_keep_inferred_from_its_size(size: int, cause: str | None) -> None:
    # Given Django's signed_cookies session grown past 4096 bytes: Firefox drops it without a reason,
    # and the 401 that follows says no credentials came
    dropped = set_cookie("sessionid").model_copy(update={"size": size})
    exchanges = form_login(engine="firefox", session=dropped, account_cookies=[], account_challenges=())
    run = make_run(exchanges, engine="firefox", after_cookies=[])

    found = findings_of("cookie_blocked", make_site(run))

    if cause is None:
        # Under the limit, the size is no reason; the jar alone is only a weak hint
        assert all("bytes" not in f.summary for f in found)
        return
    (finding,) = found
    assert f"its name and value are {size} bytes, more than the 4096 browsers keep" in finding.summary
    assert "server-side session store" in finding.next_step
    assert verdict_of(make_site(run)).primary == cause


def test_firefox_secure_prefix_without_secure_inferred_from_the_jar() -> None:
    # Given `__Secure-sessionid` set without Secure (RFC 6265bis §4.1.3.1): Firefox drops it silently
    dropped = set_cookie("__Secure-sessionid")
    exchanges = form_login(engine="firefox", session=dropped, account_cookies=[])
    run = make_run(exchanges, engine="firefox", after_cookies=[])

    verdict = verdict_of(make_site(run))

    assert verdict.primary == "cookie-blocked"
    assert "the __Secure- prefix needs Secure" in verdict.summary


def _oidc_chain(engine: str, *, sent: bool, not_sent: list[CookieNotSent]) -> list[object]:
    strict = set_cookie(samesite="Strict")
    return [
        make_exchange(0, f"{IDP}/login", "POST", 302, engine=engine, location=f"{APP}/callback?code=x"),  # type: ignore[arg-type]
        make_exchange(
            1,
            f"{APP}/callback?code=x",
            status=302,
            engine=engine,
            redirected_from=0,  # type: ignore[arg-type]
            location=f"{APP}/account",
            set_cookies=[strict],
        ),
        make_exchange(
            2,
            f"{APP}/account",
            status=200 if sent else 401,
            engine=engine,
            redirected_from=1,  # type: ignore[arg-type]
            cookies=[("session", NEW_SESSION)] if sent else [],
            cookies_not_sent=not_sent,
            challenges=[] if sent else [challenge("Cookie", realm="app")],
        ),
    ]


def test_samesite_strict_withheld_on_a_cross_site_chain_in_chromium_only() -> None:
    withheld = CookieNotSent(name="session", domain="127.0.0.1", path="/", reasons=["SameSiteStrict"])
    chromium = make_run(_oidc_chain("chromium", sent=False, not_sent=[withheld]), flow="oidc")  # type: ignore[arg-type]
    firefox = make_run(_oidc_chain("firefox", sent=True, not_sent=[]), engine="firefox", flow="oidc")  # type: ignore[arg-type]
    verdict = verdict_of(make_site(chromium, firefox))
    assert verdict.primary == "cookie-blocked"
    assert (
        verdict.engine_specific
        and verdict.engines_failing == ["chromium"]
        and verdict.engines_passing == ["firefox"]
    )
    assert f"its redirect chain started at {IDP}/login" in verdict.summary
    assert "wrong-url" not in verdict.contributing


def test_samesite_strict_inferred_without_engine_reasons() -> None:
    firefox = make_run(_oidc_chain("firefox", sent=False, not_sent=[]), engine="firefox", flow="oidc")  # type: ignore[arg-type]
    found = findings_of("cookie_blocked", make_site(firefox))
    assert found and "SameSite=Strict" in found[0].summary and "another site" in found[0].summary
