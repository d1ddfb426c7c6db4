"""The engine end to end: every flow kind, in every engine here, fresh and persisted, against the lab,
with the evidence each run must carry. The controls are read from the suite's one check of every lab
scenario (tests/scenario_check.py), whose artifacts are all scanned for secrets here."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from loginprobe.evidence import ENGINES, Engine, EngineStatus
from tests.conftest import require_engine
from tests.scenario_check import ScenarioCheck, digest

pytestmark = pytest.mark.browser

CONTROLS = (
    "control-form",
    "control-form-two-step",
    "control-basic",
    "control-digest",
    "control-bearer",
    "control-api-key",
    "control-oidc",
    "control-spa",
)


@pytest.fixture
def checked(every_scenario: ScenarioCheck) -> ScenarioCheck:
    """The suite's one check of every lab scenario; these tests read its controls."""
    return every_scenario


@pytest.mark.parametrize("mode", ["fresh", "persisted"])
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("site", CONTROLS)
def test_every_flow_kind_reaches_the_protected_resource(
    checked: ScenarioCheck, engine_status: dict[Engine, EngineStatus], site: str, engine: Engine, mode: str
) -> None:
    require_engine(engine_status, engine)
    run = checked.run(site, engine, mode)
    if site == "control-digest" and engine == "firefox" and "BiDi" in run.launch:
        # Then Firefox over WebDriver BiDi never answers the Digest challenge: an engine difference,
        # recorded as such, with no Authorization sent at all by the browser (loginprobe's own probe
        # afterwards answers the challenge outside it, and the site accepts those credentials).
        assert not run.outcome.success
        assert any("Digest" in note for note in run.engine_notes)
        assert all(ex.authorization is None for ex in run.exchanges if not ex.sent_by_loginprobe)
        return
    assert run.outcome.success, run.outcome.reason
    assert run.outcome.status == 200
    assert run.engine_version


def test_unavailable_engines_are_reported_with_their_reason(
    checked: ScenarioCheck, engine_status: dict[Engine, EngineStatus]
) -> None:
    report = checked.main.report
    for engine, status in engine_status.items():
        if engine not in checked.engines:
            continue  # not asked for in this check (WebKitGTK over WebDriver has tests of its own)
        row = next(e for e in report.engines if e.engine == engine)
        assert row.available == status.available
        if not status.available:
            assert row.reason
            skipped = [s for s in report.skipped if s.engine == engine]
            assert len(skipped) == len(report.sites) * 2
            assert all(status.reason and status.reason in s.reason for s in skipped)
            assert not [r for r in report.runs if r.engine == engine]


@pytest.mark.parametrize("engine", ENGINES)
def test_form_login_evidence(
    checked: ScenarioCheck, engine_status: dict[Engine, EngineStatus], engine: Engine
) -> None:
    require_engine(engine_status, engine)
    run = checked.run("control-form", engine)
    post = next(ex for ex in run.exchanges if ex.method == "POST")
    session = next(c for c in post.set_cookies if c.name == "session")
    assert session.attributes.get("httponly") == ""
    assert session.value_fingerprint.startswith("‹secret:")
    if engine == "chromium":
        assert session.stored is True
    account = run.protected
    assert account is not None and account.status == 200
    assert account.cookies_sent == ["session"]
    assert account.served_from == "network" and account.served_from_signal
    assert isinstance(account.request_headers, list) and all(
        len(pair) == 2 for pair in account.request_headers
    )
    assert account.server_date is not None
    # The redirect after the POST is linked to it.
    assert account.redirected_from == post.id
    jar = {c.name: c for c in run.after.cookies}
    assert jar["session"].http_only and jar["session"].same_site == "Lax"
    assert not run.before.cookies
    assert run.cache_signal


@pytest.mark.parametrize("engine", ENGINES)
def test_http_auth_evidence(
    checked: ScenarioCheck, engine_status: dict[Engine, EngineStatus], engine: Engine
) -> None:
    require_engine(engine_status, engine)
    run = checked.run("control-basic", engine)
    answered = run.protected
    assert answered is not None and answered.status == 200
    if "authorization" in run.hidden_request_headers:
        # Chromium answers the challenge below DevTools: the evidence says so instead of
        # pretending no credentials were sent.
        assert answered.authorization is None
        assert any("network stack" in note for note in run.engine_notes)
        return
    challenge = next(ex for ex in run.exchanges if ex.status == 401)
    assert [c.scheme for c in challenge.challenges] == ["Basic"]
    assert challenge.challenges[0].realm
    assert answered.authorization is not None
    assert answered.authorization.scheme == "Basic"
    assert answered.authorization.identity == "alice"
    header = answered.request_header("Authorization")
    assert header is not None and "‹secret:" in header


@pytest.mark.parametrize("engine", ENGINES)
def test_bearer_evidence_decodes_the_jwt(
    checked: ScenarioCheck, engine_status: dict[Engine, EngineStatus], engine: Engine
) -> None:
    require_engine(engine_status, engine)
    run = checked.run("control-bearer", engine)
    api = run.protected
    assert api is not None and api.authorization is not None
    assert api.authorization.scheme == "Bearer" and api.authorization.identity == "alice"
    token = next(j for j in run.jwts if j.found_in == "request header Authorization")
    assert token.claims["sub"] == "alice"
    assert (
        token.expires_at is not None and token.seconds_to_expiry is not None and token.seconds_to_expiry > 0
    )
    assert token.reference == "server-date"
    assert "alg" in token.header


@pytest.mark.parametrize("engine", ENGINES)
def test_oidc_evidence_follows_the_redirect_chain(
    checked: ScenarioCheck, engine_status: dict[Engine, EngineStatus], engine: Engine
) -> None:
    require_engine(engine_status, engine)
    run = checked.run("control-oidc", engine)
    origins = [ex.origin for ex in run.exchanges if ex.is_navigation]
    app = run.protected.origin if run.protected else ""
    assert any(origin != app for origin in origins), "the identity provider's origin never appeared"
    callback = next(ex for ex in run.exchanges if "/oidc/callback" in ex.url)
    assert "‹secret:" in callback.url, "the authorization code must be fingerprinted"
    assert any(c.name == "session" for c in run.after.cookies)


@pytest.mark.parametrize("engine", ENGINES)
def test_returning_spa_keeps_its_token_in_storage(
    checked: ScenarioCheck, engine_status: dict[Engine, EngineStatus], engine: Engine
) -> None:
    require_engine(engine_status, engine)
    run = checked.run("control-spa", engine, "persisted")
    stored = {key for area in run.before.storage for key in area.local}
    assert "access_token" in stored
    assert any(j.found_in.startswith("localStorage access_token") for j in run.jwts)
    assert run.outcome.success


def test_artifacts_exist_and_open(checked: ScenarioCheck) -> None:
    folder = checked.main.folder
    for run in checked.main.report.runs:
        assert run.artifacts.trace and run.artifacts.har
        with zipfile.ZipFile(folder / run.artifacts.trace) as trace:
            assert any(name.endswith(".trace") for name in trace.namelist())
        har = json.loads((folder / run.artifacts.har).read_text(encoding="utf-8"))
        assert har["log"]["entries"]
        if not run.outcome.success:
            assert run.artifacts.screenshot and (folder / run.artifacts.screenshot).stat().st_size > 0
    assert (folder / "report.json").exists()


def test_no_secret_in_any_artifact(checked: ScenarioCheck) -> None:
    from loginprobe.reports.redact import scan_for_secrets

    # Every report folder of the check: all scenarios, failures (tokens, keys, cookies) included.
    assert len(checked.secrets) >= len(checked.rows)
    for outcome in checked.outcomes:
        assert scan_for_secrets(outcome.folder, checked.secrets) == []


def test_persisted_runs_never_modify_the_users_profile(checked: ScenarioCheck) -> None:
    assert checked.profile_digest_before, "seeding created no profile"
    after = {path: digest(Path(path)) for path in checked.profile_digest_before}
    assert after == checked.profile_digest_before
