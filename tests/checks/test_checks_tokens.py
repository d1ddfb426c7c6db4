"""expired-token (exp/nbf/iat vs the server's Date, RFC 6750 invalid_token), audience/issuer, refresh."""

from __future__ import annotations

from datetime import timedelta

from loginprobe.evidence import StorageArea
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    T0,
    TOKEN_FP,
    api_call,
    auth,
    challenge,
    make_jwt,
    make_run,
    make_site,
)

EXPIRED = challenge(
    "Bearer", error="invalid_token", error_description="the access token expired at 09:55:00Z"
)


def bearer_run(
    exp_offset_s: float, *, engine: str = "chromium", mode: str = "fresh", **jwt_kw: object
) -> object:
    exchanges = api_call(status=401, authorization=auth("Bearer", "alice", TOKEN_FP), challenges=[EXPIRED])
    server_date = exchanges[1].server_date
    jwt = make_jwt(1, exp=T0 + timedelta(seconds=exp_offset_s), reference=server_date, **jwt_kw)  # type: ignore[arg-type]
    return make_run(
        exchanges,
        engine=engine,
        mode=mode,
        flow="bearer",
        protected_url=f"{APP}/api/me",
        credentials=["token"],
        jwts=[jwt],  # type: ignore[arg-type]
    )


def test_expired_bearer_jwt_names_exp_and_server_date() -> None:
    ev = make_site(bearer_run(-300), bearer_run(-300, engine="firefox"))
    found = findings_of("expired_token", ev)
    assert found and found[0].confidence >= 0.95
    assert (
        "`exp` was 2026-11-28T09:55:00Z, the server's Date said 2026-11-28T10:00:01Z (5 min later)"
        in found[0].summary
    )
    verdict = verdict_of(ev)
    assert verdict.primary == "expired-token"
    assert "invalid-credentials" not in [f.cause for f in verdict.findings]
    assert "sign in again" in verdict.next_step


def test_expiry_inside_clock_skew_is_weaker() -> None:
    exchanges = api_call(status=401, authorization=auth("Bearer", "alice", TOKEN_FP))
    jwt = make_jwt(1, exp=T0 - timedelta(seconds=29), reference=exchanges[1].server_date)
    ev = make_site(make_run(exchanges, flow="bearer", protected_url=f"{APP}/api/me", jwts=[jwt]))
    found = findings_of("expired_token", ev)
    assert found[0].confidence == 0.7
    assert "skew" in found[0].summary


def test_not_yet_valid_token() -> None:
    exchanges = api_call(status=401, authorization=auth("Bearer", "alice", TOKEN_FP))
    jwt = make_jwt(
        1, exp=T0 + timedelta(hours=1), nbf=T0 + timedelta(minutes=10), reference=exchanges[1].server_date
    )
    ev = make_site(make_run(exchanges, flow="bearer", protected_url=f"{APP}/api/me", jwts=[jwt]))
    assert "`nbf` was 2026-11-28T10:10:00Z" in findings_of("expired_token", ev)[0].summary


def test_opaque_token_with_rfc6750_expiry_description() -> None:
    exchanges = api_call(status=401, authorization=auth("Bearer", None, TOKEN_FP), challenges=[EXPIRED])
    ev = make_site(make_run(exchanges, flow="bearer", protected_url=f"{APP}/api/me"))
    found = findings_of("expired_token", ev)
    assert found and found[0].confidence == 0.9
    assert 'error="invalid_token"' in found[0].summary


def test_valid_token_gives_no_expiry_finding() -> None:
    exchanges = api_call(status=200, authorization=auth("Bearer", "alice", TOKEN_FP))
    jwt = make_jwt(1, exp=T0 + timedelta(hours=1), reference=exchanges[1].server_date)
    ev = make_site(make_run(exchanges, flow="bearer", protected_url=f"{APP}/api/me", jwts=[jwt]))
    assert findings_of("expired_token", ev) == []
    assert verdict_of(ev).primary == "none"


def test_wrong_audience_when_configured() -> None:
    refused = challenge("Bearer", error="invalid_token", error_description="the access token is invalid")
    exchanges = api_call(status=401, authorization=auth("Bearer", "alice", TOKEN_FP), challenges=[refused])
    jwt = make_jwt(1, exp=T0 + timedelta(hours=1), aud="other-api", iss="https://issuer.example")
    run = make_run(
        exchanges,
        flow="bearer",
        protected_url=f"{APP}/api/me",
        jwts=[jwt],
        audience="orders-api",
        issuer="https://issuer.example/",
    )
    found = findings_of("wrong_audience_or_issuer", make_site(run))
    assert len(found) == 1
    assert "`aud` is other-api, not orders-api" in found[0].summary
    assert "iss" not in found[0].summary  # trailing slash is not a difference


def test_stored_token_reused_without_refresh() -> None:
    # Given a returning SPA whose localStorage holds an expired token and a refresh token.
    exchanges = api_call(status=401, authorization=auth("Bearer", "alice", TOKEN_FP), challenges=[EXPIRED])
    jwt = make_jwt(1, exp=T0 - timedelta(hours=1), reference=exchanges[1].server_date)
    storage = StorageArea(
        origin=APP,
        local={"access_token": f"eyJhbGciOi.eyJzdWIi.{TOKEN_FP}", "refresh_token": "‹secret:00000001›"},
    )
    run = make_run(
        exchanges,
        mode="persisted",
        flow="form",
        protected_url=f"{APP}/api/me",
        jwts=[jwt],
        before_storage=[storage],
    )
    found = findings_of("refresh_never_happened", make_site(run))
    assert len(found) == 1
    assert "localStorage access_token" in found[0].summary
    assert "refresh_token" in found[0].summary
