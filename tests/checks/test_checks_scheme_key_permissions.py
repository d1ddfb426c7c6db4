"""wrong-auth-scheme, invalid-api-key and insufficient-permissions."""

from __future__ import annotations

from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    KEY_FP,
    TOKEN_FP,
    api_call,
    auth,
    basic_login,
    challenge,
    chromium_http_auth,
    form_login,
    make_jwt,
    make_run,
    make_site,
)

BEARER_ONLY = [challenge("Bearer", realm="api")]


def test_basic_configured_but_server_challenges_bearer() -> None:
    # Chromium cannot answer a Bearer challenge with a password: it sends nothing.
    runs = [
        make_run(basic_login(engine=engine, offered=BEARER_ONLY, answered=False), engine=engine, flow="basic")
        for engine in ("chromium", "firefox")
    ]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "wrong-auth-scheme"
    assert "missing-credentials" not in verdict.contributing
    assert 'Bearer realm="api"' in verdict.summary


def test_basic_sent_but_bearer_challenged() -> None:
    runs = [make_run(basic_login(offered=BEARER_ONLY, final_status=401), flow="basic")]
    found = findings_of("wrong_auth_scheme", make_site(*runs))
    assert found[0].confidence == 0.9
    assert "sent Authorization: Basic" in found[0].summary


def _key_run(status: int, *, sent: bool = True, description: str = "", **kw: object) -> object:
    headers = [("X-API-Key", KEY_FP)] if sent else []
    ch = (
        [challenge("ApiKey", realm="api", error="invalid_key", error_description=description)]
        if description
        else []
    )
    return make_run(
        api_call(url=f"{APP}/v1/data", status=status, request_headers=headers, challenges=ch),
        flow="api-key",
        protected_url=f"{APP}/v1/data",
        credentials=["api_key"],
        api_key_name="X-API-Key",
        api_key_location="header",
        **kw,  # type: ignore[arg-type]
    )


def test_revoked_api_key() -> None:
    ev = make_site(
        _key_run(401, description="the API key was revoked"),
        _key_run(401, description="the API key was revoked", engine="firefox"),
    )
    verdict = verdict_of(ev)
    assert verdict.primary == "invalid-api-key"
    assert "header X-API-Key" in verdict.summary and "revoked" in verdict.summary
    assert "invalid-credentials" not in verdict.contributing


def test_api_key_in_the_wrong_place() -> None:
    ev = make_site(_key_run(401, description="no API key in the query parameter api_key"))
    found = findings_of("invalid_api_key", ev)
    assert found[0].confidence == 0.9
    assert "the query string" in found[0].summary


def test_api_key_missing() -> None:
    found = findings_of("invalid_api_key", make_site(_key_run(401, sent=False)))
    assert "carried no API key in the header X-API-Key" in found[0].summary


def test_the_stock_401_page_of_a_web_server_says_nothing_about_where_the_key_goes() -> None:
    # Given nginx's `return 401;` to a revoked key: its own page, titled "401 Authorization Required"
    exchanges = api_call(
        url=f"{APP}/v1/data", status=401, request_headers=[("X-API-Key", KEY_FP)],
        body="401 Authorization Required nginx/1.22.1",
    )  # fmt: skip
    run = make_run(
        exchanges, flow="api-key", protected_url=f"{APP}/v1/data", credentials=["api_key"],
        api_key_name="X-API-Key", api_key_location="header",
    )  # fmt: skip
    # Then the key was sent and refused; nothing says it belongs elsewhere
    (found,) = findings_of("invalid_api_key", make_site(run))
    assert "sent the key in the header X-API-Key and the server refused it" in found.summary
    assert "as if no key came" not in found.summary


def _role_run(status: int) -> object:
    scope = challenge(
        "Bearer", error="insufficient_scope", error_description="requires the role admin", scope="admin"
    )
    exchanges = api_call(status=status, authorization=auth("Bearer", "alice", TOKEN_FP), challenges=[scope])
    return make_run(
        exchanges, flow="bearer", protected_url=f"{APP}/api/me", jwts=[make_jwt(1, roles=["user"])]
    )


def test_insufficient_scope_403() -> None:
    verdict = verdict_of(make_site(_role_run(403)))
    assert verdict.primary == "insufficient-permissions"
    assert "scope `admin`" in verdict.summary and "roles=[user]" in verdict.summary
    assert "call for 403" not in verdict.summary


def test_insufficient_scope_sent_as_401_notes_the_misuse() -> None:
    verdict = verdict_of(make_site(_role_run(401)))
    assert verdict.primary == "insufficient-permissions"
    assert "call for 403" in verdict.summary
    assert "invalid-credentials" not in [f.cause for f in verdict.findings]


def test_403_after_a_successful_form_login() -> None:
    run = make_run(form_login(account_status=403, account_challenges=[]))
    found = findings_of("insufficient_permissions", make_site(run))
    assert found and found[0].confidence == 0.85


def test_a_403_behind_basic_in_chromium_is_insufficient_permissions() -> None:
    # Given Chromium, which answers Basic out of the capture's sight, and Apache's
    # `AuthzSendForbiddenOnFailure On`: only the final 403 is recorded
    run = chromium_http_auth(final_status=403, url=f"{APP}/staff/admin/", offered=[])
    ev = make_site(run)
    # Then the 403 is the user's permission, and no finding claims the browser never sent the password
    verdict = verdict_of(ev)
    assert verdict.primary == "insufficient-permissions"
    assert "out of the capture's sight" in verdict.summary
    assert findings_of("never_challenged", ev) == []
    assert "missing-credentials" not in verdict.contributing
