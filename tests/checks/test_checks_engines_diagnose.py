"""Engine-specific verdicts and diagnose(): controls, precedence, crashes, unknown."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from loginprobe.checks import registry
from loginprobe.diagnose import diagnose
from loginprobe.evidence import SiteEvidence
from loginprobe.verdict import Finding
from tests.checks.check_helpers import verdict_of
from tests.evidence_factory import (
    APP,
    basic_login,
    challenge,
    form_login,
    make_run,
    make_site,
    set_cookie,
)

BIDI_NOTE = (
    "Firefox driven over WebDriver BiDi answers Basic challenges from http_credentials but never "
    "Digest ones: the server sees no Authorization (an engine difference, not a wrong password)"
)
DIGEST = challenge("Digest", realm="area", qop="auth", algorithm="MD5", nonce="abc", opaque="def")


def test_digest_unanswered_by_firefox_over_bidi_is_an_engine_limitation() -> None:
    chromium = make_run(basic_login(offered=[DIGEST], scheme="Digest"), flow="digest")
    firefox = make_run(
        basic_login(engine="firefox", offered=[DIGEST], answered=False),
        engine="firefox",
        flow="digest",
        engine_notes=[BIDI_NOTE],
        unanswerable_schemes=["Digest"],
    )
    verdict = verdict_of(make_site(chromium, firefox))
    assert verdict.primary == "none"
    assert verdict.engine_specific and verdict.engines_failing == ["firefox"]
    assert "never answers Digest" in verdict.summary and "chromium signed in" in verdict.summary
    assert verdict.contributing == []


def test_basic_flow_on_a_digest_site_names_the_engine_not_the_password() -> None:
    # Given `flow = "basic"` for a Digest site: Chromium answers any scheme and signs in, Firefox over
    # BiDi never answers Digest
    chromium = make_run(basic_login(offered=[DIGEST], scheme="Digest"), flow="basic")
    firefox = make_run(
        basic_login(engine="firefox", offered=[DIGEST], answered=False),
        engine="firefox",
        flow="basic",
        unanswerable_schemes=["Digest"],
    )
    verdict = verdict_of(make_site(chromium, firefox))
    # Then the scheme is wrong for the config, and the sentence blames the engine, not "a password"
    assert verdict.primary == "wrong-auth-scheme"
    assert "which firefox, as launched here, never answers" in verdict.summary
    assert "chromium answered it with the same username and password and signed in" in verdict.summary
    assert "cannot answer with a username and password" not in verdict.summary
    assert 'Set `flow = "digest"`' in verdict.next_step


def test_digest_wrong_password_is_still_invalid_credentials_next_to_the_firefox_limit() -> None:
    chromium = make_run(basic_login(offered=[DIGEST], scheme="Digest", final_status=401), flow="digest")
    firefox = make_run(
        basic_login(engine="firefox", offered=[DIGEST], answered=False),
        engine="firefox",
        flow="digest",
        engine_notes=[BIDI_NOTE],
        unanswerable_schemes=["Digest"],
    )
    assert verdict_of(make_site(chromium, firefox)).primary == "invalid-credentials"


def test_engine_difference_names_the_cookie_one_engine_did_not_store() -> None:
    chromium = make_run(form_login(account_status=200))
    refused = set_cookie(partitioned="", stored=None)
    firefox = make_run(
        form_login(engine="firefox", session=refused, account_cookies=[]), engine="firefox", after_cookies=[]
    )
    verdict = verdict_of(make_site(chromium, firefox))
    assert verdict.engine_specific and verdict.engines_failing == ["firefox"]
    assert verdict.primary == "cookie-blocked"
    engine_findings = [f for f in verdict.findings if f.check == "engine_difference"]
    assert engine_findings and "chromium stored session and firefox did not" in engine_findings[0].summary


def test_healthy_controls_give_none_with_no_findings() -> None:
    runs = [
        make_run(form_login(engine=e, account_status=200), engine=e, mode=m)  # type: ignore[arg-type]
        for e in ("chromium", "firefox")
        for m in ("fresh", "persisted")
    ]
    verdict = verdict_of(make_site(*runs))
    assert (verdict.primary, verdict.confidence, verdict.contributing, verdict.findings) == (
        "none",
        1.0,
        [],
        [],
    )
    assert verdict.engines_passing == ["chromium", "firefox"] and not verdict.engine_specific


def test_unexplained_failure_is_unknown_with_the_run_reasons() -> None:
    # A 500 with nothing to go on.
    run = make_run(form_login(account_status=500, account_challenges=[]))
    verdict = verdict_of(make_site(run))
    assert verdict.primary == "unknown"
    assert "answered 500" in verdict.summary and verdict.next_step


def test_precedence_direct_evidence_outranks_heuristics() -> None:
    # A shared-cache hit (direct, 0.9) and a session refused right after login (heuristic, 0.6).
    hit = [("X-Cache", "HIT"), ("Age", "30")]
    runs = [make_run(form_login(engine=e, account_headers=hit), engine=e) for e in ("chromium", "firefox")]  # type: ignore[arg-type]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "stale-cache"
    assert verdict.findings[0].cause == "stale-cache"


@pytest.fixture
def crashing_check() -> Iterator[None]:
    def broken_check(ev: SiteEvidence) -> Iterator[Finding]:
        """Always fails."""
        raise KeyError("boom")

    registry.check(cause="unknown")(broken_check)
    yield
    registry._CHECKS.pop("broken_check")


@pytest.mark.usefixtures("crashing_check")
def test_a_crashing_check_becomes_an_unknown_finding_in_diagnose() -> None:
    ev = make_site(make_run(form_login(login_status=401)))
    verdict = diagnose(ev)
    crashed = [f for f in verdict.findings if f.check == "broken_check"]
    assert crashed and crashed[0].cause == "unknown" and "KeyError" in crashed[0].summary
    assert verdict.primary == "invalid-credentials"
    with pytest.raises(KeyError):
        diagnose(ev, raise_errors=True)


def test_empty_and_odd_evidence_never_raise() -> None:
    # A site no run checked is not a site that works: `unknown`, saying nothing was recorded.
    empty = diagnose(SiteEvidence(site="empty", runs=[]))
    assert (empty.primary, empty.confidence) == ("unknown", 0.0)
    assert "No run was recorded" in empty.summary
    never_requested = make_run(
        form_login(account_status=200)[:1], success=False, protected_url=f"{APP}/nowhere"
    )
    odd = never_requested.model_copy(
        update={"outcome": never_requested.outcome.model_copy(update={"protected_exchange": None})}
    )
    assert diagnose(make_site(odd), raise_errors=True).primary == "unknown"


def test_every_check_has_a_one_line_docstring() -> None:
    for name, fn in registry.registered().items():
        doc = (fn.__doc__ or "").strip()
        assert doc and "\n" not in doc, name
