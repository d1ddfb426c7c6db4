"""OpenID Connect failures on real software (oidc-provider + express-openid-connect, npm), each with
its control, configured as a user would and checked in Chromium and Firefox (one check serves them all).

- a claim the user lacks: /admin guarded by `claimEquals('role', 'admin')` (the user's role is
  `member`); the SDK answers the signed-in user 401 "Authentication is required for this route." and
  renews the session on that answer -> `insufficient-permissions`; /member, whose claim the user has,
  is the control -> `none`; with the SDK's defaults the same refusal sends the signed-in user to sign in
  again, the provider signs them in at once, round and round until the browser stops (too many
  redirects) -> `insufficient-permissions` too;
- the app's client secret is not the registered one: the provider refuses the code exchange and the
  app's /callback answers 400 -> `server-misconfiguration`, naming the callback and what it said;
- the app's callback route moved to /auth/callback, the provider only knows /callback: the provider
  shows its error page (invalid_redirect_uri) and no login form -> `server-misconfiguration` (an
  expert's call: the URL the user configured is right, the two servers' registration disagrees, and
  only their configuration can fix it, so not `wrong-url`);
- third-party noise: the app page posts an analytics beacon to another site (401 with a Bearer
  challenge) and loads its tracker (403); with the claim refusal the verdict stays
  `insufficient-permissions`, and where only the noise fails it is `none`; the same with the noise on
  the app's own host at another port (same site, another origin);
- the session outgrows the app's header limit: the provider puts the user's 1200 groups in the ID
  token, express-openid-connect splits the session into 8 cookies, and Node answers the next request
  431 -> `server-misconfiguration` (the browser stored and sent every cookie; the app refuses its own);
- returning visits: the app's session expired while the provider's lives (the SDK sends the user to
  the provider, which signs them in silently) and the provider's expired while the app's lives: `none`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.realworld.servers import Checked, write_config
from tests.realworld.test_oidc import OidcServers, check, oidc_servers, oidc_site  # noqa: F401 (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]
# The session lifetime servers.mjs gives the short-rp app and the short-idp provider (its default).
SHORT_SESSION_S = 20


def _check_sites(folder: Path, sites: list[dict[str, Any]], **top: Any) -> Checked:
    config = write_config(folder / "loginprobe.toml", sites, folder / "profiles", **top)
    return check(config, folder / "reports", ENGINES, ["fresh"], folder)


@pytest.fixture(scope="module")
def failures(oidc_servers: OidcServers, tmp_path_factory: pytest.TempPathFactory) -> Checked:  # noqa: F811
    """One check of the failures and their control, fresh logins in both engines."""
    rp = oidc_servers.rp
    sites: list[dict[str, Any]] = [
        oidc_site(rp["claims"], "claim-missing", protected_url=f"{rp['claims']}/admin"),
        oidc_site(rp["claims"], "claim-present", protected_url=f"{rp['claims']}/member"),
        oidc_site(rp["bad-secret"], "wrong-client-secret"),
        oidc_site(rp["bad-redirect"], "unregistered-redirect-uri"),
        oidc_site(rp["big-session"], "session-too-large"),
        oidc_site(rp["claims-default"], "claim-missing-loop", protected_url=f"{rp['claims-default']}/admin"),
    ]  # fmt: skip
    # Twenty laps through the provider take longer than the default 30 s under load: the timeout a user
    # raises after seeing one.
    return _check_sites(tmp_path_factory.mktemp("oidc-failures"), sites, timeout=60)


@pytest.fixture(scope="module")
def noise(oidc_servers: OidcServers, tmp_path_factory: pytest.TempPathFactory) -> Checked:  # noqa: F811
    """One check of the app pages with third-party noise, with and without a claim refusal."""
    rp = oidc_servers.rp
    sites: list[dict[str, Any]] = []
    for where, query in (("", ""), ("local-", "&noise=local")):
        sites += [
            oidc_site(
                rp["claims"], f"{where}noise-and-claim-missing",
                protected_url=f"{rp['claims']}/admin", app_url=f"{rp['claims']}/app?api=/admin{query}",
            ),
            oidc_site(
                rp["control"], f"{where}noise-only", app_url=f"{rp['control']}/app?api=/profile{query}"
            ),
        ]  # fmt: skip
    return _check_sites(tmp_path_factory.mktemp("oidc-noise"), sites)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_missing_claim_is_insufficient_permissions(failures: Checked, engine: str) -> None:
    missing = failures.site("claim-missing")
    missing.assert_primary(engine, "insufficient-permissions")
    assert "renewed the session cookie" in missing.verdict["summary"], missing.explain()
    failures.site("claim-present").assert_primary(engine, "none")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_wrong_client_secret_is_server_misconfiguration_at_the_callback(
    failures: Checked, engine: str
) -> None:
    checked = failures.site("wrong-client-secret")
    checked.assert_primary(engine, "server-misconfiguration")
    summary = checked.verdict["summary"]
    assert "/callback" in summary and "answered 400" in summary, checked.explain()
    assert "server responded with a challenge" in summary, checked.explain()  # what the app said


@pytest.mark.parametrize("engine", ENGINES)
def test_an_unregistered_redirect_uri_is_server_misconfiguration(failures: Checked, engine: str) -> None:
    checked = failures.site("unregistered-redirect-uri")
    checked.assert_primary(engine, "server-misconfiguration")
    summary = checked.verdict["summary"]
    assert "redirect_uri did not match" in summary and "/auth/callback" in summary, checked.explain()
    assert "wrong-url" not in {f["cause"] for f in checked.verdict["findings"]}, checked.explain()


def _noise(checked: Checked, engine: str) -> list[tuple[str, int | None]]:
    (run,) = checked.runs(engine, "fresh")
    noise = [e for e in run["exchanges"] if "/collect" in e["url"] or "/tracker.js" in e["url"]]
    return [(e["url"].rsplit("/", 1)[1], e["status"]) for e in noise]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("where", ["", "local-"])
def test_third_party_noise_never_decides(noise: Checked, where: str, engine: str) -> None:
    # Given the beacon (401 + Bearer challenge) and the tracker (403) on another site (or on the app's
    # host at another port), the verdict follows the protected request: the claim refusal where there
    # is one, else none.
    with_claim = noise.site(f"{where}noise-and-claim-missing")
    assert ("collect", 401) in _noise(with_claim, engine), with_claim.explain()
    with_claim.assert_primary(engine, "insufficient-permissions")
    only_noise = noise.site(f"{where}noise-only")
    assert ("collect", 401) in _noise(only_noise, engine), only_noise.explain()
    only_noise.assert_primary(engine, "none")


@pytest.fixture(scope="module")
def returning(oidc_servers: OidcServers, tmp_path_factory: pytest.TempPathFactory) -> Checked:  # noqa: F811
    """A first visit (persisted, it signs in), the sessions' lifetime passes, then the returning check."""
    rp = oidc_servers.rp
    sites = [
        oidc_site(rp["short-rp"], "app-session-expired"),
        oidc_site(rp["short-idp"], "idp-session-expired"),
    ]
    folder = tmp_path_factory.mktemp("oidc-sessions")
    config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
    first = check(config, folder / "reports-first", ENGINES, ["persisted"], folder)
    assert first.code == 0, first.stderr
    time.sleep(SHORT_SESSION_S + 1)  # not a timing assertion: the sessions must have ended first
    return check(config, folder / "reports-returning", ENGINES, ["fresh", "persisted"], folder)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_expired_app_session_is_healed_by_the_providers_session(returning: Checked, engine: str) -> None:
    # The SDK's default sends the returning user to the provider, which signs them in without a form.
    checked = returning.site("app-session-expired")
    checked.assert_returning_visit(engine, success=True)
    run = checked.returning_run(engine)
    assert any("/callback" in e["url"] for e in run["exchanges"]), checked.explain()  # a silent sign-in
    checked.assert_primary(engine, "none")


@pytest.mark.parametrize("engine", ENGINES)
def test_an_expired_provider_session_does_not_matter_while_the_app_session_lives(
    returning: Checked, engine: str
) -> None:
    checked = returning.site("idp-session-expired")
    checked.assert_returning_visit(engine, success=True)
    checked.assert_primary(engine, "none")


@pytest.mark.parametrize("engine", ENGINES)
def test_a_session_too_large_for_the_apps_headers_is_server_misconfiguration(
    failures: Checked, engine: str
) -> None:
    checked = failures.site("session-too-large")
    (run,) = checked.runs(engine, "fresh")
    assert run["outcome"]["status"] == 431, checked.explain()
    checked.assert_primary(engine, "server-misconfiguration")
    assert "too large" in checked.verdict["summary"] and "appSession.0" in checked.verdict["summary"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_missing_claim_with_the_sdk_defaults_is_a_sign_in_loop(failures: Checked, engine: str) -> None:
    checked = failures.site("claim-missing-loop")
    checked.assert_primary(engine, "insufficient-permissions")
    assert "back to sign in" in checked.verdict["summary"], checked.explain()
