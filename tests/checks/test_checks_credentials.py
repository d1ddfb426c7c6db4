"""missing-credentials and invalid-credentials."""

from __future__ import annotations

from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    auth,
    basic_login,
    challenge,
    form_login,
    make_exchange,
    make_run,
    make_site,
)


def test_basic_area_without_configured_credentials_is_missing_credentials() -> None:
    # Given no credentials configured, both engines see only the challenge.
    runs = [
        make_run(basic_login(engine=engine, answered=False), engine=engine, flow="basic", credentials=())
        for engine in ("chromium", "firefox")
    ]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "missing-credentials"
    finding = findings_of("missing_credentials", make_site(*runs))[0]
    assert finding.confidence >= 0.9
    assert 'Basic realm="Restricted"' in finding.summary
    assert finding.exchange_id == 0


def test_form_password_refused_everywhere_is_invalid_credentials_not_missing() -> None:
    runs = [
        make_run(form_login(engine=engine, login_status=401), engine=engine, mode=mode)
        for engine in ("chromium", "firefox")
        for mode in ("fresh", "persisted")
    ]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "invalid-credentials"
    assert verdict.engines_failing == ["chromium", "firefox"]
    assert not verdict.engine_specific
    assert "POST http://127.0.0.1:5000/login" in verdict.summary


def test_basic_refused_with_chromium_net_error_variant() -> None:
    # Chromium records the retried 401 with net::ERR_INVALID_AUTH_CREDENTIALS; Firefox with the status only.
    chromium = basic_login(final_status=401)
    chromium[1] = chromium[1].model_copy(update={"failure": "net::ERR_INVALID_AUTH_CREDENTIALS"})
    runs = [
        make_run(chromium, flow="basic"),
        make_run(basic_login(engine="firefox", final_status=401), engine="firefox", flow="basic"),
    ]
    found = findings_of("invalid_credentials", make_site(*runs))
    assert len(found) == 1
    assert "Authorization: Basic ‹secret:9a55c0de› for alice" in found[0].summary
    assert verdict_of(make_site(*runs)).primary == "invalid-credentials"


def test_invalid_credentials_needs_every_run_to_fail() -> None:
    runs = [
        make_run(form_login(login_status=401)),
        make_run(form_login(account_status=200), mode="persisted"),
    ]
    assert findings_of("invalid_credentials", make_site(*runs)) == []


def test_status_none_net_error_counts_as_a_rejection() -> None:
    # Chromium sometimes drops the status entirely and keeps only the net error.
    ex = make_exchange(
        1, f"{APP}/basic/", status=None, authorization=auth(), failure="net::ERR_INVALID_AUTH_CREDENTIALS"
    )
    run = make_run([ex], flow="basic")
    verdict = verdict_of(make_site(run))
    assert verdict.primary != "none"
    assert findings_of("no_challenge", make_site(run)) == []  # no headers seen: no claim about them


def test_missing_credentials_never_claims_a_secret() -> None:
    runs = [
        make_run(
            basic_login(answered=False, offered=[challenge("Basic", realm="x")]), flow="basic", credentials=()
        )
    ]
    verdict = verdict_of(make_site(*runs))
    assert "‹secret:" not in verdict.summary
