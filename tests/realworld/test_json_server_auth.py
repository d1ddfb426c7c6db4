"""json-server-auth (npm): a single-page app that keeps its JWT in localStorage, and the token expires.

json-server-auth signs every access token for one hour (a constant in its source), so the test moves
the server's clock instead of waiting: Debian's libfaketime starts the same server two hours later.

Given a user who signed in yesterday (the first check creates the persisted profile; the SPA stored
its access token in localStorage),
when the server runs two hours later, the returning visit's app page sends the stored token and the
protected route answers 401 `jwt expired`: `expired-token`.
The control restarts the server on the real clock: `none`.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
from pathlib import Path

import pytest

from tests.realworld.conftest import json_server_auth
from tests.realworld.servers import PASSWORD, PASSWORD_ENV, Checked, Visits, visit_twice, write_config
from tests.realworld.test_oidc import check

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]


def spa_site(origin: str, name: str) -> dict[str, object]:
    """The SPA's login page, its app page, and the guarded json-server route the app calls."""
    return {
        "name": name,
        "url": f"{origin}/index.html",
        "app_url": f"{origin}/app.html",
        "protected_url": f"{origin}/660/notes",
        "flow": "form",
        "credentials": {"username": "alice@example.com", "password_env": PASSWORD_ENV},
    }


def later(service_argv: list[str], hours: int) -> list[str]:
    """The same command under libfaketime, its wall clock `hours` ahead (timers keep real time)."""
    faketime = shutil.which("faketime")
    if faketime is None:
        pytest.skip("faketime is installed by scripts/setup (Debian package faketime)")
    return [faketime, "-f", f"+{hours}h", *service_argv]


def _restarted(folder: Path, name: str, hours_later: int) -> Visits:
    with json_server_auth(folder) as server:

        def restart() -> None:
            if hours_later:
                server.argv = later(server.argv, hours_later)
            server.restart(FAKETIME_DONT_FAKE_MONOTONIC="1")

        return visit_twice(server, spa_site(server.origin, name), folder, ENGINES, restart)


@pytest.fixture(scope="module")
def expired_jwt(tmp_path_factory: pytest.TempPathFactory) -> Visits:
    return _restarted(tmp_path_factory.mktemp("jsa-expired"), "json-server-auth-expired", hours_later=2)


@pytest.fixture(scope="module")
def valid_jwt(tmp_path_factory: pytest.TempPathFactory) -> Visits:
    return _restarted(tmp_path_factory.mktemp("jsa-valid"), "json-server-auth-valid", hours_later=0)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", ["expired_jwt", "valid_jwt"])
def test_first_visit_signs_in(request: pytest.FixtureRequest, case: str, engine: str) -> None:
    visits: Visits = request.getfixturevalue(case)
    visits.assert_first_visit_signed_in(engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_jwt_expired_in_local_storage_is_expired_token(expired_jwt: Visits, engine: str) -> None:
    expired_jwt.assert_returning(engine, "expired-token")


@pytest.mark.parametrize("engine", ENGINES)
def test_jwt_still_valid_is_none(valid_jwt: Visits, engine: str) -> None:
    valid_jwt.assert_returning(engine, "none")


# -- fresh logins: the password, the owner rule, the token the app forgets --------------------------
#
# One check of five sites in both engines:
# - a wrong password: the SPA's POST /login answers 400 "Incorrect password" -> invalid-credentials;
# - the `600` route rule (owner only) read by bob, who owns no note: 403 "Private resource access"
#   -> insufficient-permissions; alice, the owner, is its control -> none;
# - forgets.html, the app after a refactor that lost the Authorization header: the token is in
#   localStorage and the request goes without it, 401 "Missing authorization header"
#   -> missing-credentials; app.html, which sends it, is the control -> none.


def _register(origin: str, email: str) -> None:
    """A second account, through json-server-auth's own /register (as the app's sign-up would)."""
    request = urllib.request.Request(
        f"{origin}/register",
        data=json.dumps({"email": email, "password": PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201


@pytest.fixture(scope="module")
def fresh_logins(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    folder = tmp_path_factory.mktemp("jsa-fresh")
    with json_server_auth(folder) as server:
        _register(server.origin, "bob@example.com")
        origin = server.origin
        owner_only = {"app_url": f"{origin}/app.html?api=/600/notes", "protected_url": f"{origin}/600/notes"}
        wrong = {"username": "alice@example.com", "password_env": "JSA_WRONG_PASSWORD"}
        bob = {"username": "bob@example.com", "password_env": PASSWORD_ENV}
        forgets = {"url": f"{origin}/index.html?next=/forgets.html", "app_url": f"{origin}/forgets.html"}
        sites = [
            {**spa_site(origin, "wrong-password"), "credentials": wrong},
            {**spa_site(origin, "not-the-owner"), **owner_only, "credentials": bob},
            {**spa_site(origin, "the-owner"), **owner_only},
            {**spa_site(origin, "token-forgotten"), **forgets},
            spa_site(origin, "token-sent"),
        ]
        config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
        return check(config, folder / "reports", ENGINES, ["fresh"], folder, JSA_WRONG_PASSWORD="not-it")


@pytest.mark.parametrize("engine", ENGINES)
def test_wrong_password_answered_400_is_invalid_credentials(fresh_logins: Checked, engine: str) -> None:
    checked = fresh_logins.site("wrong-password")
    checked.assert_primary(engine, "invalid-credentials")
    assert "Incorrect password" in checked.verdict["summary"], checked.explain()


@pytest.mark.parametrize("engine", ENGINES)
def test_owner_only_route_read_by_another_user_is_insufficient_permissions(
    fresh_logins: Checked, engine: str
) -> None:
    fresh_logins.site("not-the-owner").assert_primary(engine, "insufficient-permissions")
    fresh_logins.site("the-owner").assert_primary(engine, "none")


@pytest.mark.parametrize("engine", ENGINES)
def test_token_the_app_never_sends_is_missing_credentials(fresh_logins: Checked, engine: str) -> None:
    checked = fresh_logins.site("token-forgotten")
    checked.assert_primary(engine, "missing-credentials")
    assert "`accessToken`" in checked.verdict["summary"], checked.explain()
    fresh_logins.site("token-sent").assert_primary(engine, "none")


# -- a bug reporter's storage (`--mode state`): the token in localStorage is cut short -----------
#
# The reporter's exported storage state holds a JWT whose signature lost its last characters;
# json-server-auth answers 401 "invalid signature", a fresh login works -> invalid-credentials (the
# stored token is invalid, not expired). The same export with the whole token is the control -> none.


def _state_file(path: Path, origin: str, token: str) -> str:
    """A Playwright storage state with the SPA's token in localStorage, as `storage_state()` writes it."""
    state = {
        "cookies": [],
        "origins": [{"origin": origin, "localStorage": [{"name": "accessToken", "value": token}]}],
    }
    path.write_text(json.dumps(state), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def reported_storage(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    folder = tmp_path_factory.mktemp("jsa-state")
    with json_server_auth(folder) as server:
        login = urllib.request.Request(
            f"{server.origin}/login",
            data=json.dumps({"email": "alice@example.com", "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(login, timeout=10) as response:
            token = json.loads(response.read())["accessToken"]
        cut = _state_file(folder / "cut.json", server.origin, token[:-12])
        whole = _state_file(folder / "whole.json", server.origin, token)
        sites = [
            {**spa_site(server.origin, "token-cut-short"), "storage_state": cut},
            {**spa_site(server.origin, "token-whole"), "storage_state": whole},
        ]
        config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
        return check(config, folder / "reports", ENGINES, ["fresh", "state"], folder)


@pytest.mark.parametrize("engine", ENGINES)
def test_token_cut_short_in_reported_storage_is_invalid_credentials(
    reported_storage: Checked, engine: str
) -> None:
    checked = reported_storage.site("token-cut-short")
    (run,) = [r for r in checked.runs(engine, "state") if r.get("ablation") is None]
    assert run["returning_visit"] and not run["outcome"]["success"], checked.explain()
    checked.assert_primary(engine, "invalid-credentials")
    assert "`accessToken`" in checked.verdict["summary"], checked.explain()
    reported_storage.site("token-whole").assert_primary(engine, "none")
