"""OpenID Connect against real software: `oidc-provider` (the reference provider, npm) as the identity
provider on localhost and `express-openid-connect` (Auth0's relying-party middleware, npm) as the app on
127.0.0.1, so the way back from the provider is a cross-site navigation, as in production.

The provider shows a consent page ("Continue") after the password, which the oidc flow must go through.
- control: the SDK's defaults -> `none`;
- SameSite: the app's transaction cookie `auth_verification` is `SameSite=Strict`, so the browser leaves
  it off the redirect back to /callback; the callback fails and /profile answers 401 -> `cookie-blocked`;
- expiry relayed by the app: the session outlives its access token; /profile answers 401 with RFC 6750
  `invalid_token` "The access token expired" to a returning user -> `expired-token`.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from loginprobe.config.settings import Site
from tests.faults.servers import cli_env, run_cli
from tests.realworld.servers import CHECK_TIMEOUT, PASSWORD, PASSWORD_ENV, Checked, stop_group, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]
HERE = Path(__file__).resolve().parent / "oidc"
USER = "alice"
# Seconds an access token of the `expiring` relying party lives: long enough for a login to reach
# /profile under load, short enough to have expired by the returning visit.
EXPIRING_TTL = 20
START_TIMEOUT_S = 30.0


@dataclass
class OidcServers:
    """The running identity provider and relying parties (one per variant)."""

    idp: str
    rp: dict[str, str]
    log: Path


def _first_line(proc: subprocess.Popen[bytes], log: Path) -> dict[str, Any]:
    """The JSON line the servers print once all of them listen (within START_TIMEOUT_S)."""
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"the OIDC servers did not start (exit {proc.poll()}):\n{tail}")
            if selector.select(timeout=min(left, 0.5)):
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    continue
                buffer += chunk
    return dict(json.loads(buffer.split(b"\n", 1)[0]))


@pytest.fixture(scope="session")
def oidc_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcServers]:
    """oidc-provider and the express-openid-connect apps, installed by scripts/setup (npm ci)."""
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("the npm packages of tests/realworld/oidc are installed by scripts/setup (npm ci)")
    log = tmp_path_factory.mktemp("oidc-servers") / "servers.log"
    env = {**os.environ, "OIDC_USER": USER, "OIDC_PASSWORD": PASSWORD, "EXPIRING_TTL": str(EXPIRING_TTL)}
    with log.open("ab") as err:
        proc = subprocess.Popen(
            ["node", "servers.mjs"],
            cwd=HERE,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            start_new_session=True,  # its own process group, ended as a whole below
        )
    try:
        urls = _first_line(proc, log)
        yield OidcServers(idp=urls["idp"], rp=dict(urls["rp"]), log=log)
    finally:
        stop_group(proc)
        if proc.stdout is not None:
            proc.stdout.close()


def oidc_site(rp: str, name: str, **extra: Any) -> dict[str, Any]:
    """The config a user writes for this app: its login route, the page that needs a session."""
    return {
        "name": name,
        "url": f"{rp}/login",
        "protected_url": f"{rp}/profile",
        "flow": "oidc",
        "credentials": {"username": USER, "password_env": PASSWORD_ENV},
        **extra,
    }


def check(config: Path, output: Path, engines: list[str], modes: list[str], cwd: Path, **env: str) -> Checked:
    """`loginprobe check` on the config, as a subprocess, into its own new output folder."""
    assert not output.exists(), f"{output} is reused: one check per output folder"
    args = ["check", "--config", str(config), "--output", str(output)]
    args += [arg for engine in engines for arg in ("--browser", engine)]
    args += [arg for mode in modes for arg in ("--mode", mode)]
    result = run_cli(*args, cwd=cwd, env=cli_env(**{PASSWORD_ENV: PASSWORD, **env}), timeout=CHECK_TIMEOUT)
    if result.code not in (0, 1):
        raise AssertionError(f"loginprobe check exited {result.code}:\n{result.stderr}")
    # The one report folder (a `latest` link to it may sit beside it).
    reports = [p for p in output.glob("*/report.json") if not p.parent.is_symlink()]
    if len(reports) != 1:
        listing = sorted(str(p.relative_to(output)) for p in output.rglob("*")) if output.exists() else []
        raise AssertionError(f"{len(reports)} report.json under {output} ({listing[:20]}):\n{result.stderr}")
    (report,) = reports
    return Checked(result.code, result.stderr, json.loads(report.read_text(encoding="utf-8")))


def _check_once(
    folder: Path, site: dict[str, Any], engines: list[str], modes: list[str], **top: Any
) -> Checked:
    config = write_config(folder / "loginprobe.toml", site, folder / "profiles", **top)
    return check(config, folder / "reports", engines, modes, folder)


def _exchanges(checked: Checked, engine: str, mode: str, path: str) -> list[dict[str, Any]]:
    (run,) = [r for r in checked.runs(engine, mode) if r.get("ablation") is None and not r.get("via_proxy")]
    return [e for e in run["exchanges"] if e["url"].split("?")[0].endswith(path)]


def test_step_settings_are_validated() -> None:
    """A step needs a condition and exactly one action; fill needs a value."""
    site = Site(name="s", url="http://127.0.0.1/", steps=[{"url_contains": "/consent", "click": "#allow"}])
    assert site.steps[0].describe() == "when the URL contains '/consent': click '#allow'"
    for bad in (
        {"click": "#allow"},
        {"visible": "#x", "click": "#a", "fill": "#b"},
        {"visible": "#x", "fill": "#b"},
    ):
        with pytest.raises(ValueError):
            Site(name="s", url="http://127.0.0.1/", steps=[bad])


@pytest.mark.parametrize("engine", ENGINES)
def test_consent_is_passed_and_control_is_none(
    oidc_servers: OidcServers, tmp_path: Path, engine: str
) -> None:
    # Given the provider's consent page after the password, when the oidc flow runs (no steps
    # configured), then it presses "Continue", comes back signed in, and nothing is wrong.
    checked = _check_once(
        tmp_path, oidc_site(oidc_servers.rp["control"], "oidc-control"), [engine], ["fresh"]
    )
    (run,) = checked.runs(engine, "fresh")
    assert run["outcome"]["success"], checked.explain()
    assert _exchanges(checked, engine, "fresh", "/confirm"), "the consent page was never confirmed"
    assert checked.primary == "none", checked.explain()


def test_configured_step_passes_consent(oidc_servers: OidcServers, tmp_path: Path) -> None:
    # Given the consent step described in [[sites.steps]], the flow does that step.
    step = {"url_contains": "/interaction/", "visible": "form[action$='/confirm']", "click": ".login-submit"}
    site = oidc_site(oidc_servers.rp["control"], "oidc-steps")
    config = write_config(tmp_path / "loginprobe.toml", site, tmp_path / "profiles")
    with config.open("a", encoding="utf-8") as out:
        out.write("[[sites.steps]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in step.items()))
    checked = check(config, tmp_path / "reports", ["chromium"], ["fresh"], tmp_path)
    assert checked.primary == "none", checked.explain()
    assert _exchanges(checked, "chromium", "fresh", "/confirm")


@pytest.mark.parametrize("engine", ENGINES)
def test_strict_transaction_cookie_is_cookie_blocked(
    oidc_servers: OidcServers, tmp_path: Path, engine: str
) -> None:
    # Given `auth_verification` set SameSite=Strict by the app, when the provider redirects back
    # (a cross-site navigation), the browser leaves the cookie off /callback and the login fails.
    checked = _check_once(tmp_path, oidc_site(oidc_servers.rp["strict"], "oidc-strict"), [engine], ["fresh"])
    (callback,) = _exchanges(checked, engine, "fresh", "/callback")
    assert callback["status"] == 400, checked.explain()  # the SDK: '"auth_verification" cookie not found'
    assert "auth_verification" not in [c["name"] for c in callback["cookies_sent"]]
    (run,) = checked.runs(engine, "fresh")
    assert run["outcome"]["status"] == 401, checked.explain()
    assert checked.primary == "cookie-blocked", checked.explain()


@pytest.mark.parametrize("engine", ENGINES)
def test_wrong_password_on_the_provider_is_invalid_credentials(
    oidc_servers: OidcServers, tmp_path: Path, engine: str
) -> None:
    # Given a password the provider refuses (its login page comes back with 401 and a message), the
    # flow stops at once and the login is refused: `invalid-credentials`.
    site = oidc_site(oidc_servers.rp["control"], "oidc-wrong-password")
    site["credentials"] = {"username": USER, "password_env": "OIDC_WRONG_PASSWORD"}
    config = write_config(tmp_path / "loginprobe.toml", site, tmp_path / "profiles")
    checked = check(config, tmp_path / "reports", [engine], ["fresh"], tmp_path, OIDC_WRONG_PASSWORD="not-it")
    (run,) = checked.runs(engine, "fresh")
    assert "login form came back" in run["outcome"]["reason"], checked.explain()
    assert checked.primary == "invalid-credentials", checked.explain()


@pytest.fixture(scope="module")
def returning_profiles(
    oidc_servers: OidcServers, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """For each returning variant, a user's profile in both engines from a first visit (it signs in),
    and then, for the expiring apps, the access token's lifetime passed: variant -> folder."""
    folders: dict[str, Path] = {}
    for variant in ("control", "expiring", "expiring-json"):
        folder = tmp_path_factory.mktemp(f"oidc-returning-{variant}")
        rp = oidc_servers.rp[variant]
        first = _check_once(
            folder, oidc_site(rp, f"oidc-returning-{variant}", start_url=f"{rp}/"), ENGINES, ["persisted"]
        )
        assert first.primary == "none", first.explain()
        folders[variant] = folder
    time.sleep(EXPIRING_TTL + 1)  # not a timing assertion: the tokens must have expired before the visits
    return folders


def _returning_check(folder: Path, engine: str) -> Checked:
    """The returning user's check in one engine: a fresh login and the returning visit."""
    config = folder / "loginprobe.toml"
    return check(config, folder / f"reports-{engine}", [engine], ["fresh", "persisted"], folder)


@pytest.mark.parametrize("engine", ENGINES)
def test_returning_visit_control_is_none(returning_profiles: dict[str, Path], engine: str) -> None:
    # Given yesterday's session with a token that still lives, the returning visit is signed in.
    checked = _returning_check(returning_profiles["control"], engine)
    checked.assert_returning_visit(engine, success=True)
    assert checked.primary == "none", checked.explain()


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("variant", ["expiring", "expiring-json"])
def test_access_token_expired_in_session_is_expired_token(
    returning_profiles: dict[str, Path], variant: str, engine: str
) -> None:
    # Given yesterday's session, when the returning user opens the app, /profile answers 401 naming
    # the expiry (RFC 6750 invalid_token "The access token expired", or a JSON body
    # {"error": "access_token_is_expired"}); a fresh login works, and so does signing in again.
    checked = _returning_check(returning_profiles[variant], engine)
    checked.assert_returning_visit(engine, success=False)
    run = checked.returning_run(engine)
    assert run["outcome"]["status"] == 401, checked.explain()
    assert run.get("login_ran") is False, checked.explain()  # the app asked for no new login
    assert checked.primary == "expired-token", checked.explain()
