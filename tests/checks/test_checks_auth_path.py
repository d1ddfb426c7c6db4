"""Causes come from the auth path only: a CDN asset that fails is context, never the verdict (issue 9)."""

from __future__ import annotations

from loginprobe.checks.common import on_auth_path
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    IDP,
    challenge,
    form_login,
    make_exchange,
    make_run,
    make_site,
    set_cookie,
)

CDN_FONT = "https://fonts.cdn.invalid/inter.woff2"
CDN_CSS = "https://static.cdn.invalid/site.css"


def unresolved(id: int, url: str, resource_type: str) -> object:
    return make_exchange(
        id,
        url,
        status=None,
        failure="net::ERR_NAME_NOT_RESOLVED",
        is_navigation=False,
        resource_type=resource_type,
        date=None,
    )


def with_noise(exchanges: list, *noise_urls: tuple[str, str]) -> list:
    start = max(ex.id for ex in exchanges) + 1
    noise = [unresolved(start + i, url, kind) for i, (url, kind) in enumerate(noise_urls)]
    return [exchanges[0], *noise, *exchanges[1:]]


def test_an_unresolvable_cdn_font_is_not_above_a_real_403() -> None:
    # Given a login that was accepted, a protected page that answered 403, and a font from a CDN
    # host that does not resolve (a closed CI network).
    runs = [
        make_run(
            with_noise(form_login(engine=engine, account_status=403), (CDN_FONT, "font")),
            engine=engine,
            protected=2,
        )
        for engine in ("chromium", "firefox")
    ]
    verdict = verdict_of(make_site(*runs))
    # Then the 403 is the cause, the font is only context.
    assert verdict.primary == "insufficient-permissions"
    assert "wrong-url" not in verdict.contributing
    assert findings_of("unresolvable_host", make_site(*runs)) == []
    assert any(CDN_FONT in line and "not part of the login" in line for line in verdict.context)


def test_an_unresolvable_stylesheet_is_not_above_an_identity_providers_refusal() -> None:
    # Given an OIDC login whose provider refused the password (401 to its form post) on a page that
    # also loads a stylesheet from a host that does not resolve.
    exchanges = [
        make_exchange(0, f"{APP}/oidc/start", status=302, location=f"{IDP}/authorize"),
        make_exchange(1, f"{IDP}/authorize", redirected_from=0),
        unresolved(2, CDN_CSS, "stylesheet"),
        make_exchange(3, f"{IDP}/login", "POST", 401, body="Invalid username or password."),
        make_exchange(4, f"{APP}/account", status=401),
    ]
    run = make_run(exchanges, flow="oidc", start_url=f"{APP}/oidc/start", issuer=IDP)
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "invalid-credentials"
    assert "wrong-url" not in verdict.contributing
    assert any(CDN_CSS in line for line in verdict.context)


def test_noise_alone_next_to_a_good_login_is_none_with_context() -> None:
    # Control: the login works; the font failing changes nothing.
    run = make_run(with_noise(form_login(account_status=200), (CDN_FONT, "font")), protected=2)
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "none"
    assert verdict.contributing == []
    assert any(CDN_FONT in line for line in verdict.context)


def test_the_login_host_itself_not_resolving_is_still_wrong_url() -> None:
    # The same failure on the auth path (the protected page's own host) is a cause.
    run = make_run(
        [
            make_exchange(
                0, "http://app.typo.invalid/account", status=None, failure="net::ERR_NAME_NOT_RESOLVED"
            )
        ],
        protected_url="http://app.typo.invalid/account",
    )
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "wrong-url"
    assert verdict.context == []


def test_a_third_party_cookie_refused_on_an_image_is_not_cookie_blocked() -> None:
    # A tracking pixel's cookie refused as third-party, while the site's own login was refused.
    pixel = make_exchange(
        3,
        "https://pixel.tracker.invalid/p.gif",
        is_navigation=False,
        resource_type="image",
        set_cookies=[set_cookie("uid", stored=False, reasons=["ThirdPartyPhaseout"], samesite="None")],
    )
    exchanges = [*form_login(login_status=401, account_status=401), pixel]
    run = make_run(exchanges, protected=2)
    assert findings_of("cookie_blocked", make_site(run)) == []
    assert verdict_of(make_site(run)).primary == "invalid-credentials"


def test_what_the_auth_path_holds() -> None:
    login = form_login()
    run = make_run(login)
    assert all(on_auth_path(run, ex) for ex in login)
    api = make_exchange(5, f"{APP}/api/me", is_navigation=False, cookies=[("session", "x")])
    challenged = make_exchange(
        6,
        "https://other.invalid/x.js",
        "GET",
        401,
        is_navigation=False,
        resource_type="script",
        challenges=[challenge("Basic", realm="x")],
    )
    font = unresolved(7, CDN_FONT, "font")
    run = make_run([*login, api, challenged, font], protected=2)
    assert on_auth_path(run, api)  # carries the session cookie
    assert on_auth_path(run, challenged)  # the server asked for credentials
    assert not on_auth_path(run, font)
