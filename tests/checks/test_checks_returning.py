"""Returning visits: a token document replayed by a cache is told apart from a stale cookie, whatever
the differential runs that force a new login say."""

from __future__ import annotations

from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    OLD_SESSION,
    TOKEN_FP,
    auth,
    cookie,
    make_exchange,
    make_run,
    make_site,
)

API = f"{APP}/api/me"
TOKEN_DOC = f"{APP}/api/token"
FRESH_TOKEN = "‹secret:0f0e5a11›"


def app_visit(
    *, served_from: str = "network", token: str = TOKEN_FP, shared_hit: bool = False, api_status: int = 401
) -> list:
    """The app page, its fetch of the token document, then the API call with that token."""
    doc_headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
    if shared_hit:
        doc_headers += [("Age", "120"), ("X-Varnish", "32770 3"), ("Via", "1.1 varnish (Varnish/7.1)")]
    return [
        make_exchange(0, f"{APP}/app", cookies=[("sessionid", OLD_SESSION)]),
        make_exchange(
            1,
            TOKEN_DOC,
            is_navigation=False,
            cookies=[("sessionid", OLD_SESSION)],
            response_headers=doc_headers,
            served_from=served_from,
            body=f'{{"access_token": "{token}"}}',
        ),
        make_exchange(
            2,
            API,
            status=api_status,
            is_navigation=False,
            authorization=auth("Bearer", identity=None, fingerprint=token),
        ),
    ]


def returning(exchanges: list, ablation: str | None = None, *, success: bool | None = None) -> object:
    return make_run(
        exchanges,
        mode="persisted",
        ablation=ablation,
        protected_url=API,
        before_cookies=[cookie("sessionid", OLD_SESSION)],
        success=success,
        returning_visit=True,
        login_ran=False,
    )


def test_shared_cache_token_document_outranks_the_cookie_differentials() -> None:
    # Given a shared cache keyed on the Cookie header that replays a token document the origin marked
    # no-store: a new login (no-cookies, relogin) changes the key and heals it, the same cookies
    # (only-cookies) do not.
    stale = app_visit(shared_hit=True)
    healed = app_visit(token=FRESH_TOKEN, api_status=200)
    ev = make_site(
        make_run(healed, protected_url=API),
        returning(stale),
        returning(stale, "no-cache"),
        returning(stale, "only-cookies"),
        returning(healed, "no-cookies"),
        returning(healed, "relogin"),
    )
    verdict = verdict_of(ev)
    assert verdict.primary == "stale-cache"
    assert "X-Varnish 32770 3" in verdict.summary and "no-store" in verdict.summary
    assert verdict.confidence >= 0.95


def test_browser_cache_token_document_is_not_a_stale_cookie() -> None:
    # Given the browser's HTTP cache kept the token document (private, max-age): the profile without
    # its cache, which kept the same cookies, signs in; so does a new login.
    stale = app_visit(served_from="disk-cache")
    healed = app_visit(token=FRESH_TOKEN, api_status=200)
    ev = make_site(
        make_run(healed, protected_url=API),
        returning(stale),
        returning(healed, "no-cache"),
        returning(stale, "only-cookies"),
        returning(healed, "no-cookies"),
    )
    verdict = verdict_of(ev)
    assert verdict.primary == "stale-cache"
    assert "disk cache" in verdict.summary
    assert not findings_of("stale_cookie", ev) and not findings_of("no_cookies_ablation_fixes", ev)


def test_rotated_session_key_is_a_stale_cookie_healed_by_signing_in_again() -> None:
    # Given a session cookie signed with a key the server has since rotated: nothing is cached, the
    # same cookies fail anywhere, a new login heals it.
    page = [make_exchange(0, f"{APP}/account", status=401, cookies=[("sessionid", OLD_SESSION)])]
    ok = [make_exchange(0, f"{APP}/account", status=200, cookies=[("sessionid", FRESH_TOKEN)])]
    ev = make_site(
        make_run(ok),
        make_run(
            page,
            mode="persisted",
            before_cookies=[cookie("sessionid", OLD_SESSION)],
            returning_visit=True,
            login_ran=False,
        ),
        make_run(
            page, mode="persisted", ablation="no-cache", before_cookies=[cookie("sessionid", OLD_SESSION)]
        ),
        make_run(
            page, mode="persisted", ablation="only-cookies", before_cookies=[cookie("sessionid", OLD_SESSION)]
        ),
        make_run(ok, mode="persisted", ablation="relogin", before_cookies=[cookie("sessionid", OLD_SESSION)]),
    )
    verdict = verdict_of(ev)
    assert verdict.primary == "stale-cookie"
    assert "signing in again in the same profile" in verdict.summary
    assert verdict.signing_in_again is not None and "yes in chromium" in verdict.signing_in_again
