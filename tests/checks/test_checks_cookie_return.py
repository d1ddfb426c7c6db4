"""cookie-blocked on the way back from another site: a relying party's transaction cookie that a
SameSite rule keeps off the identity provider's redirect (or form_post) back to /callback (issue 10).

The shapes are those recorded against express-openid-connect + oidc-provider (tests/realworld): the
app sets `auth_verification` on GET /login, the provider on another site redirects back, the
callback answers 400 and deletes the cookie on that same response, /profile answers 401.
"""

from __future__ import annotations

from loginprobe.evidence import CookieNotSent, Exchange
from loginprobe.verdict import INFERRED_STRONG, STATED
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import APP, IDP, make_exchange, make_run, make_site, set_cookie

CALLBACK = f"{APP}/callback?code=‹secret:c0de0001›&state=‹secret:57a7e001›"
SAYS = '"auth_verification" cookie not found. Ensure the login flow is initiated through the SDK.'


def rp_login(
    *,
    engine: str = "chromium",
    samesite: str = "Strict",
    reasons: tuple[str, ...] = ("SchemefulSameSiteStrict",),
    form_post: bool = False,
    callback_status: int = 400,
    callback_url: str = CALLBACK,
    sent: bool = False,
) -> list[Exchange]:
    """GET /login (sets the transaction cookie), the provider's pages, the way back, GET /profile."""
    transaction = set_cookie("auth_verification", "‹secret:7a5e0001›", samesite=samesite)
    transaction.attributes.pop("httponly", None)
    withheld = (
        [CookieNotSent(name="auth_verification", reasons=list(reasons))] if reasons and not sent else []
    )
    back: dict[str, object] = {"redirected_from": 3}
    method = "GET"
    headers = [("Sec-Fetch-Site", "cross-site"), ("Referer", f"{IDP}/")]
    if form_post:
        # form_post: the provider's page submits a form to /callback; no redirect chain to read.
        back, method = {}, "POST"
        headers = [("Origin", IDP), ("Sec-Fetch-Site", "cross-site")]
    failed = callback_status >= 400
    return [
        make_exchange(
            0, f"{APP}/login", status=302, engine=engine, set_cookies=[transaction], location=f"{IDP}/auth"
        ),  # type: ignore[arg-type]
        make_exchange(1, f"{IDP}/auth", status=303, engine=engine, redirected_from=0),  # type: ignore[arg-type]
        make_exchange(2, f"{IDP}/interaction/1", engine=engine, redirected_from=1),  # type: ignore[arg-type]
        make_exchange(3, f"{IDP}/interaction/1/login", "POST", 303, engine=engine),  # type: ignore[arg-type]
        make_exchange(
            4,
            callback_url,
            method,
            callback_status,
            engine=engine,  # type: ignore[arg-type]
            request_headers=headers,
            cookies=[("auth_verification", "x")] if sent else [],
            cookies_not_sent=withheld,
            set_cookies=[
                set_cookie("auth_verification", "", samesite="Lax", expires="Thu, 01 Jan 1970 00:00:00 GMT")
            ]
            if failed
            else [set_cookie("appSession")],
            location=None if failed else f"{APP}/profile",
            body=SAYS if failed else None,
            **back,  # type: ignore[arg-type]
        ),
        make_exchange(
            5,
            f"{APP}/profile",
            status=401 if failed else 200,
            engine=engine,  # type: ignore[arg-type]
            cookies=[] if failed else [("appSession", "x")],
            body="Authentication is required for this route." if failed else None,
        ),
    ]


def rp_run(engine: str = "chromium", **kw: object) -> object:
    return make_run(
        rp_login(engine=engine, **kw),  # type: ignore[arg-type]
        engine=engine,  # type: ignore[arg-type]
        flow="oidc",
        start_url=f"{APP}/login",
        protected_url=f"{APP}/profile",
        issuer=IDP,
        after_cookies=[],
    )


def test_chromium_names_the_strict_cookie_its_reason_and_the_callback() -> None:
    verdict = verdict_of(make_site(rp_run("chromium")))  # type: ignore[arg-type]
    assert verdict.primary == "cookie-blocked"
    assert verdict.confidence == STATED
    assert "`auth_verification`" in verdict.summary and "SameSite=Strict" in verdict.summary
    assert (
        "GET http://127.0.0.1:5000/callback" in verdict.summary
        and "back from http://localhost:5001" in verdict.summary
    )
    assert "SameSite=Lax" in verdict.next_step


def test_firefox_reads_it_from_the_cookie_attributes_and_the_cross_site_return() -> None:
    run = rp_run("firefox", reasons=())
    verdict = verdict_of(make_site(run))  # type: ignore[arg-type]
    assert verdict.primary == "cookie-blocked"
    assert verdict.confidence == INFERRED_STRONG
    assert "read from its attributes" in verdict.summary
    assert "cookie not found" in verdict.summary  # what the callback said


def test_lax_cookie_on_a_form_post_return_names_the_post() -> None:
    run = rp_run("firefox", samesite="Lax", reasons=(), form_post=True)
    verdict = verdict_of(make_site(run))  # type: ignore[arg-type]
    assert verdict.primary == "cookie-blocked"
    assert "POST http://127.0.0.1:5000/callback" in verdict.summary
    assert "SameSite=None; Secure" in verdict.next_step


def test_control_a_lax_cookie_on_a_get_return_is_none() -> None:
    run = rp_run("firefox", samesite="Lax", reasons=(), sent=True, callback_status=302)
    assert verdict_of(make_site(run)).primary == "none"  # type: ignore[arg-type]


def test_control_strict_cookie_not_blamed_when_lax_return_works_in_firefox() -> None:
    # The cookie is Lax and the return is a GET: Firefox sends it, the callback failing is something else.
    run = rp_run("firefox", samesite="Lax", reasons=(), sent=False)
    assert findings_of("cookie_withheld_on_return", make_site(run)) == []  # type: ignore[arg-type]


def test_an_oauth_error_sent_back_is_not_blamed_on_the_cookie() -> None:
    run = rp_run("chromium", callback_url=f"{APP}/callback?error=access_denied&state=x")
    assert findings_of("cookie_withheld_on_return", make_site(run)) == []  # type: ignore[arg-type]
