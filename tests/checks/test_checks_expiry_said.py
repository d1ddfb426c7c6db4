"""expired-token from what the server says when no JWT is visible (issue 10 item 4): RFC 6750
invalid_token with an expiry description, common JSON error shapes, a relying party's session that
outlived its access token."""

from __future__ import annotations

from loginprobe.verdict import DIRECT, INFERRED_STRONG
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    TOKEN_FP,
    api_call,
    auth,
    challenge,
    cookie,
    make_exchange,
    make_run,
    make_site,
)

EXPIRED_CHALLENGE = challenge("Bearer", error="invalid_token", error_description="The access token expired")


def returning_rp(**profile: object) -> object:
    """A returning user's browser opens the app; its session cookie from yesterday reaches /profile."""
    exchanges = [
        make_exchange(0, f"{APP}/", cookies=[("appSession", "‹secret:5e551011›")]),
        make_exchange(
            1,
            f"{APP}/profile",
            status=401,
            cookies=[("appSession", "‹secret:5e551011›")],
            response_headers=[("Content-Type", "application/json")],
            **profile,  # type: ignore[arg-type]
        ),
    ]
    return make_run(
        exchanges,
        mode="persisted",
        flow="oidc",
        protected_url=f"{APP}/profile",
        before_cookies=[cookie("appSession", "‹secret:5e551011›")],
    )


def test_relying_party_session_outlived_its_token_rfc6750() -> None:
    run = returning_rp(
        challenges=[EXPIRED_CHALLENGE],
        body='{"error":"invalid_token","error_description":"The access token expired"}',
    )
    verdict = verdict_of(make_site(run))  # type: ignore[arg-type]
    assert verdict.primary == "expired-token"
    assert verdict.confidence >= DIRECT
    assert "read from the WWW-Authenticate challenge" in verdict.summary
    assert "the session outlived the access token" in verdict.summary
    assert "(cookies appSession, kept from the earlier visit)" in verdict.summary


def test_expiry_code_in_a_json_body_says_which_member() -> None:
    run = returning_rp(body='{"error":"access_token_is_expired","message":"Unauthorized"}')
    found = findings_of("expired_token", make_site(run))  # type: ignore[arg-type]
    assert found and found[0].confidence == DIRECT
    assert "the JSON body's `error`" in found[0].summary and "access_token_is_expired" in found[0].summary


def test_nested_json_messages_of_django_rest_framework_simplejwt() -> None:
    body = (
        '{"detail":"Given token not valid for any token type","code":"token_not_valid","messages":'
        '[{"token_class":"AccessToken","token_type":"access","message":"Token is invalid or expired"}]}'
    )
    exchanges = api_call(status=401, authorization=auth("Bearer", None, TOKEN_FP), body=body)
    run = make_run(exchanges, flow="bearer", protected_url=f"{APP}/api/me")
    found = findings_of("expired_token", make_site(run))
    assert found and "`messages[0].message`" in found[0].summary
    assert "no token the browser could decode" in found[0].summary


def test_a_truncated_body_is_read_as_text_with_less_confidence() -> None:
    exchanges = api_call(
        status=401, authorization=auth("Bearer", None, TOKEN_FP), body='{"msg": "Signature has expi'
    )
    exchanges[1] = exchanges[1].model_copy(
        update={"body_excerpt": 'oops: Signature has expired at 10:00 {"tr'}
    )
    run = make_run(exchanges, flow="bearer", protected_url=f"{APP}/api/me")
    found = findings_of("expired_token", make_site(run))
    assert found and found[0].confidence == INFERRED_STRONG
    assert "the response body" in found[0].summary


def test_control_an_expired_password_is_not_an_expired_token() -> None:
    exchanges = [
        make_exchange(0, f"{APP}/login"),
        make_exchange(
            1, f"{APP}/login", "POST", 401, body="Sign in\nYour password has expired. Choose a new one."
        ),
        make_exchange(2, f"{APP}/account", status=401),
    ]
    run = make_run(exchanges, start_url=f"{APP}/login")
    assert findings_of("expired_token", make_site(run)) == []


def test_control_a_valid_session_is_none() -> None:
    run = returning_rp().model_copy()  # type: ignore[attr-defined]
    ok = run.model_copy(
        update={
            "exchanges": [run.exchanges[0], run.exchanges[1].model_copy(update={"status": 200})],
            "outcome": run.outcome.model_copy(update={"success": True, "status": 200}),
        }
    )
    assert verdict_of(make_site(ok)).primary == "none"
