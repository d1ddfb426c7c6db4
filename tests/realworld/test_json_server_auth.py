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

import shutil
from pathlib import Path

import pytest

from tests.realworld.conftest import json_server_auth
from tests.realworld.servers import PASSWORD_ENV, Visits, visit_twice

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
