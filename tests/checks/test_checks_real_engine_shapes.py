"""Evidence shaped as the engines really record it: Chromium's Basic/Digest answered below capture,
Firefox over BiDi never answering Digest, Digest nonces in summaries."""

from __future__ import annotations

from loginprobe.checks.cache import cache_evidence
from loginprobe.checks.common import (
    answered_below_capture,
    body_text,
    credential_sent,
    describe_challenge,
)
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    basic_login,
    challenge,
    chromium_http_auth,
    make_exchange,
    make_run,
    make_site,
)

BIDI_NOTE = (
    "Firefox driven over WebDriver BiDi answers Basic challenges from http_credentials but never "
    "Digest ones: the server sees no Authorization (an engine difference, not a wrong password)"
)
DIGEST = challenge("Digest", realm="area", qop="auth", algorithm="MD5", nonce="9f1c2b", opaque="77aa")


def test_chromium_basic_refused_below_capture_is_invalid_credentials_not_missing() -> None:
    # Given Chromium's real shape (one final 401 that challenges Basic again, no Authorization visible)
    # and Firefox's (the answered round trip in full), both refused in both modes.
    runs = [chromium_http_auth(mode=mode) for mode in ("fresh", "persisted")]
    runs += [
        make_run(basic_login(engine="firefox", final_status=401), engine="firefox", flow="basic", mode=mode)
        for mode in ("fresh", "persisted")
    ]
    ev = make_site(*runs)
    # Then nobody claims the credentials were missing, and the refusal is named.
    assert findings_of("missing_credentials", ev) == []
    verdict = verdict_of(ev)
    assert verdict.primary == "invalid-credentials"
    assert "configured Basic username and password" in verdict.summary


def test_chromium_alone_refused_below_capture_with_the_net_error() -> None:
    runs = [
        chromium_http_auth(mode=mode, failure="net::ERR_INVALID_AUTH_CREDENTIALS")
        for mode in ("fresh", "persisted")
    ]
    verdict = verdict_of(make_site(*runs))
    assert verdict.primary == "invalid-credentials"
    assert "inside its network stack" in verdict.summary


def test_chromium_digest_refused_next_to_firefox_that_cannot_answer_digest() -> None:
    chromium = chromium_http_auth(url=f"{APP}/digest/", offered=[DIGEST], flow="digest")
    firefox = make_run(
        basic_login(engine="firefox", url=f"{APP}/digest/", offered=[DIGEST], answered=False),
        engine="firefox",
        flow="digest",
        protected_url=f"{APP}/digest/",
        engine_notes=[BIDI_NOTE],
        unanswerable_schemes=["Digest"],
    )
    verdict = verdict_of(make_site(chromium, firefox))
    assert verdict.primary == "invalid-credentials"
    assert 'nonce="' not in verdict.summary and 'opaque="' not in verdict.summary


def test_without_configured_credentials_chromium_still_shows_missing_credentials() -> None:
    # Chromium gives up with ERR_INVALID_AUTH_CREDENTIALS even when it had nothing to send.
    run = chromium_http_auth(credentials=(), failure="net::ERR_INVALID_AUTH_CREDENTIALS")
    assert run.hidden_request_headers == []
    assert verdict_of(make_site(run)).primary == "missing-credentials"


def test_a_stale_digest_nonce_is_not_a_refusal_of_the_password() -> None:
    stale = challenge("Digest", realm="area", qop="auth", nonce="n2", stale="true")
    run = chromium_http_auth(url=f"{APP}/digest/", offered=[stale], flow="digest")
    assert answered_below_capture(run, run.exchanges[0]) is None


def test_another_scheme_challenged_is_not_answered_below_capture() -> None:
    # Chromium answers Basic/Digest only; a Bearer challenge leaves the request without credentials.
    run = chromium_http_auth(offered=[challenge("Bearer", realm="api")])
    assert credential_sent(run, run.exchanges[0]) is None
    assert verdict_of(make_site(run)).primary == "wrong-auth-scheme"


def test_engine_difference_does_not_read_a_hidden_authorization_as_none() -> None:
    # Given Firefox signed in (its Authorization visible) and Chromium failed below capture,
    chromium = chromium_http_auth()
    firefox = make_run(basic_login(engine="firefox"), engine="firefox", flow="basic")
    # then the engine difference does not call Chromium's credentials missing.
    found = findings_of("engine_difference", make_site(chromium, firefox))
    assert found and all(f.cause != "missing-credentials" for f in found)


def test_flapping_is_seen_through_credentials_sent_below_capture() -> None:
    ok = chromium_http_auth(final_status=200, response_headers=[("X-Served-By", "node-1")])
    refused = chromium_http_auth(mode="persisted", response_headers=[("X-Served-By", "node-2")])
    verdict = verdict_of(make_site(ok, refused))
    assert verdict.primary == "server-misconfiguration"
    flapping = findings_of("flapping", make_site(ok, refused))
    assert flapping and "node-1 on the success, node-2 on the failure" in flapping[0].summary


def test_digest_nonces_are_left_out_of_summaries() -> None:
    assert describe_challenge(DIGEST) == 'Digest realm="area", qop="auth", algorithm="MD5"'


def test_the_hidden_reading_needs_the_engine_to_say_so() -> None:
    ex = make_exchange(0, f"{APP}/basic/", status=401, challenges=[challenge("Basic", realm="r")])
    run = make_run([ex], flow="basic").model_copy(update={"hidden_request_headers": ["authorization"]})
    assert answered_below_capture(run, ex) is not None
    run_none = make_run([ex], flow="basic")
    assert answered_below_capture(run_none, ex) is None


def test_an_html_error_page_is_quoted_as_its_visible_text() -> None:
    page = "<!doctype html><html><head><title>Unauthorized</title></head><body><h1>Unauthorized</h1><p>Sign"
    assert body_text(page) == "Unauthorized\nSign"  # one line per block
    assert body_text('{"error": "the API key was revoked"}') == '{"error": "the API key was revoked"}'


def test_firefox_cache_flag_is_worded_as_the_heuristic_it_is() -> None:
    signal = "firefox: timing.responseStart=-1 and responseHeadersSize=0"
    ex = make_exchange(
        0,
        f"{APP}/sw-app/data",
        status=401,
        engine="firefox",
        served_from="disk-cache",
        served_from_signal=signal,
    )
    confidence, signals = cache_evidence(make_run([ex], engine="firefox"), ex)
    assert 0.75 <= confidence < 0.9
    assert "HTTP cache or service worker" in signals[0] and "disk cache" not in signals[0]


def test_a_cached_permanent_redirect_gets_a_redirect_fix() -> None:
    hop = make_exchange(
        0, f"{APP}/account", status=301, served_from="disk-cache", location="http://localhost/a"
    )
    end = make_exchange(1, "http://localhost/a", status=401, redirected_from=0)
    run = make_run([hop, end], mode="persisted", protected=1)
    found = findings_of("stale_cache", make_site(run))
    assert found and "permanent redirect" in found[0].next_step
    assert "Vary" not in found[0].summary
