"""The engine end to end: every flow kind, in every engine here, fresh and persisted, against the lab,
with the evidence each run must carry. One check of all controls runs once for the module."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from loginprobe.config.settings import load_settings
from loginprobe.demo import LabSite, lab_sites, seed_profiles
from loginprobe.evidence import ENGINES, Engine, EngineStatus, RunEvidence
from loginprobe.pipeline import Outcome, run_check
from tests.conftest import require_engine

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


@dataclass
class Checked:
    outcome: Outcome
    sites: list[LabSite]
    profiles: Path
    profile_digest_before: dict[str, str]

    def run(self, site: str, engine: Engine, mode: str = "fresh") -> RunEvidence:
        for run in self.outcome.report.runs:
            if run.site == site and run.engine == engine and run.mode == mode and run.ablation is None:
                return run
        skipped = [s.reason for s in self.outcome.report.skipped if s.site == site and s.engine == engine]
        raise AssertionError(f"no {site}/{engine}/{mode} run; skipped: {skipped}")

    def secrets(self) -> list[str]:
        return [secret for item in self.sites for secret in item.lab.secrets()]


def _digest(folder: Path) -> str:
    """A digest of every file's path and bytes: any change to a profile changes it."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checked]:
    base = tmp_path_factory.mktemp("engine")
    profiles = base / "profiles"
    with lab_sites(CONTROLS) as sites:
        settings = load_settings(
            None,
            sites=[s.site for s in sites],
            output=base / "reports",
            profiles_dir=profiles,
            browsers=list(ENGINES),
        )
        # Given returning browsers whose profiles exist (the seeded controls) ...
        seed_profiles(sites, settings)
        seeded = sorted(p for p in profiles.glob("*/*") if p.is_dir())
        assert seeded, "seeding created no profile"
        before = {str(p): _digest(p) for p in seeded}
        # ... when every control is checked in every engine, fresh and persisted,
        outcome = run_check(settings)
        yield Checked(outcome, sites, profiles, before)


@pytest.mark.parametrize("mode", ["fresh", "persisted"])
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("site", CONTROLS)
def test_every_flow_kind_reaches_the_protected_resource(
    checked: Checked, engine_status: dict[Engine, EngineStatus], site: str, engine: Engine, mode: str
) -> None:
    require_engine(engine_status, engine)
    run = checked.run(site, engine, mode)
    if site == "control-digest" and engine == "firefox" and "BiDi" in run.launch:
        # Then Firefox over WebDriver BiDi never answers the Digest challenge: an engine difference,
        # recorded as such, with no Authorization sent at all.
        assert not run.outcome.success
        assert any("Digest" in note for note in run.engine_notes)
        assert all(ex.authorization is None for ex in run.exchanges)
        return
    assert run.outcome.success, run.outcome.reason
    assert run.outcome.status == 200
    assert run.engine_version


def test_unavailable_engines_are_reported_with_their_reason(
    checked: Checked, engine_status: dict[Engine, EngineStatus]
) -> None:
    report = checked.outcome.report
    for engine, status in engine_status.items():
        row = next(e for e in report.engines if e.engine == engine)
        assert row.available == status.available
        if not status.available:
            assert row.reason
            skipped = [s for s in report.skipped if s.engine == engine]
            assert len(skipped) == len(CONTROLS) * 2
            assert all(status.reason and status.reason in s.reason for s in skipped)
            assert not [r for r in report.runs if r.engine == engine]


@pytest.mark.parametrize("engine", ENGINES)
def test_form_login_evidence(
    checked: Checked, engine_status: dict[Engine, EngineStatus], engine: Engine
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
    checked: Checked, engine_status: dict[Engine, EngineStatus], engine: Engine
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
    checked: Checked, engine_status: dict[Engine, EngineStatus], engine: Engine
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
    checked: Checked, engine_status: dict[Engine, EngineStatus], engine: Engine
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
    checked: Checked, engine_status: dict[Engine, EngineStatus], engine: Engine
) -> None:
    require_engine(engine_status, engine)
    run = checked.run("control-spa", engine, "persisted")
    stored = {key for area in run.before.storage for key in area.local}
    assert "access_token" in stored
    assert any(j.found_in.startswith("localStorage access_token") for j in run.jwts)
    assert run.outcome.success


def test_artifacts_exist_and_open(checked: Checked) -> None:
    folder = checked.outcome.folder
    for run in checked.outcome.report.runs:
        assert run.artifacts.trace and run.artifacts.har
        with zipfile.ZipFile(folder / run.artifacts.trace) as trace:
            assert any(name.endswith(".trace") for name in trace.namelist())
        har = json.loads((folder / run.artifacts.har).read_text(encoding="utf-8"))
        assert har["log"]["entries"]
        if not run.outcome.success:
            assert run.artifacts.screenshot and (folder / run.artifacts.screenshot).stat().st_size > 0
    assert (folder / "report.json").exists()


def test_no_secret_in_any_artifact(checked: Checked) -> None:
    from loginprobe.reports.redact import scan_for_secrets

    secrets = checked.secrets()
    assert len(secrets) >= len(CONTROLS)
    hits = scan_for_secrets(checked.outcome.folder, secrets)
    assert hits == []


def test_persisted_runs_never_modify_the_users_profile(checked: Checked) -> None:
    after = {path: _digest(Path(path)) for path in checked.profile_digest_before}
    assert after == checked.profile_digest_before
