"""Evidence an engine cannot show (`RunEvidence.not_observable`, WebKitGTK over WebDriver): the checks
that would read its absence step aside, and the verdict says what could not be observed."""

from __future__ import annotations

from datetime import timedelta

from loginprobe.checks.common import observable, unobservable
from loginprobe.evidence import Engine, RunEvidence
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    OLD_SESSION,
    T0,
    basic_login,
    challenge,
    cookie,
    form_login,
    make_exchange,
    make_run,
    make_site,
)

# What flows/webkit_evidence.py lists for a WebKitGTK run.
WEBKIT_GTK = ["cookies_sent", "set_cookies", "cookies_not_sent", "challenge_headers"]
NOT_PROVIDED = '{"detail":"Authentication credentials were not provided."}'


def _blind(run: RunEvidence) -> RunEvidence:
    """The same run as an engine that shows no Cookie, Set-Cookie or WWW-Authenticate header."""
    return run.model_copy(update={"not_observable": list(WEBKIT_GTK)})


def _returning_api_visit(engine: Engine) -> RunEvidence:
    """A returning visit whose API call shows no cookie and whose server says none were provided."""
    page = make_exchange(0, f"{APP}/app/", date=T0, engine=engine)
    api = make_exchange(
        1, f"{APP}/api/data/", status=403, body=NOT_PROVIDED, is_navigation=False, engine=engine,
        date=T0 + timedelta(seconds=1),
    )  # fmt: skip
    return make_run(
        [page, api], engine=engine, mode="persisted", returning_visit=True, login_ran=False,
        protected_url=f"{APP}/api/data/",
    )  # fmt: skip


def test_observable_reads_the_runs_list() -> None:
    run = make_run()
    assert observable(run, "cookies_sent") and unobservable(run) == ""
    blind = _blind(run)
    assert not observable(blind, "cookies_sent") and observable(blind, "cookies")
    assert "which cookies each request carried" in unobservable(blind)


def test_no_cookie_header_is_not_no_cookie_when_cookies_sent_is_not_observable() -> None:
    # Given the same failing returning visit, when Chromium shows no Cookie header the server's words
    # mean none went (missing-credentials); when the engine cannot show Cookie headers, nobody knows.
    seen = make_site(_returning_api_visit("chromium"))
    assert findings_of("said_not_authenticated", seen)
    blind = make_site(_blind(_returning_api_visit("webkit")))
    assert not findings_of("said_not_authenticated", blind)
    verdict = verdict_of(blind)
    assert verdict.primary != "missing-credentials", verdict
    assert "In webkit, loginprobe could not observe which cookies each request carried" in verdict.summary


def test_engine_difference_does_not_say_webkit_withheld_cookies_it_cannot_show() -> None:
    passed = make_run(form_login(account_status=200))
    failed = _blind(make_run(form_login(engine="webkit", account_cookies=[]), engine="webkit"))
    findings = findings_of("engine_difference", make_site(passed, failed))
    assert findings, "the engines still differ"
    assert all("did not" not in f.summary for f in findings), findings
    assert all(f.cause != "cookie-blocked" for f in findings), findings


def test_a_401_whose_headers_webkit_shows_is_still_read_for_its_missing_challenge() -> None:
    # WebKitGTK hides the headers only of the 401s it answered itself (their rounds are rebuilt with no
    # headers); a 401 it shows comes with all its headers, so a missing WWW-Authenticate there is seen.
    shown = _blind(
        make_run(basic_login(engine="webkit", offered=(), answered=False), engine="webkit", flow="basic")
    )
    assert findings_of("no_challenge", make_site(shown))
    assert verdict_of(make_site(shown)).primary == "server-misconfiguration"
    rebuilt = shown.model_copy(
        update={"exchanges": [shown.exchanges[0].model_copy(update={"response_headers": []})]}
    )
    assert not findings_of("no_challenge", make_site(rebuilt))
    assert not findings_of("credentials_withheld_without_challenge", make_site(rebuilt))


def _returning_webkit_visit(held: bool) -> list[RunEvidence]:
    """A WebKit returning visit refused with a login challenge, and its relogin run that signed in."""
    refused = make_exchange(
        0, f"{APP}/api/session", status=401, engine="webkit", is_navigation=False,
        challenges=[challenge("Cookie", realm="app", **{"form-action": "/login"})],
    )  # fmt: skip
    common = {"engine": "webkit", "mode": "persisted", "protected_url": f"{APP}/api/session"}
    before = [cookie("session", OLD_SESSION)] if held else []
    run = make_run([refused], returning_visit=True, login_ran=False, before_cookies=before, **common)
    relogin = make_run(form_login(engine="webkit", account_status=200), ablation="relogin", **common)
    return [_blind(run), _blind(relogin)]


def test_webkit_returning_visit_with_a_held_session_is_stale_cookie_not_carried_none() -> None:
    # Given a returning WebKit visit whose jar held `session`, refused with a login challenge, where
    # signing in again fixed it: the Cookie header is not shown, so "carried none" is not said, and
    # the jar and the relogin differential name the stale session.
    site = make_site(*_returning_webkit_visit(held=True))
    assert not findings_of("missing_credentials", site)
    (finding,) = findings_of("held_cookie_refused_unseen", site)
    assert "`session`" in finding.summary and "cannot show the Cookie header" in finding.summary
    assert verdict_of(site).primary == "stale-cookie"
    # And with nothing held for the URL, the check has nothing to read and says nothing.
    assert not findings_of("held_cookie_refused_unseen", make_site(*_returning_webkit_visit(held=False)))
