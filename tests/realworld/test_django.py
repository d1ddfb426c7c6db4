"""Django's session and auth apps under gunicorn: a returning user whose session died with a rotated
`SECRET_KEY` (Django checks each session's auth hash against the key, so every session is signed out).

Given a user who signed in yesterday (the first check creates the persisted profile),
when the server restarts with a new SECRET_KEY, the returning visit's app page gets 401 from the
session API: `stale-cookie`. The control restarts with the same key: `none`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.realworld.conftest import django_server
from tests.realworld.servers import PASSWORD_ENV, Visits, visit_twice

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]


def session_site(origin: str, name: str) -> dict[str, object]:
    """The config a user writes for this app: Django's login page, the app page, the API it calls."""
    return {
        "name": name,
        "url": f"{origin}/accounts/login/?next=/app/",
        "app_url": f"{origin}/app/",
        "protected_url": f"{origin}/api/me/",
        "flow": "form",
        "credentials": {"username": "alice", "password_env": PASSWORD_ENV},
    }


def _restarted(folder: Path, django_db: Path, name: str, rotate: bool) -> Visits:
    key = secrets.token_urlsafe(40)
    with django_server(folder, django_db, key) as server:
        new_key = secrets.token_urlsafe(40) if rotate else key
        return visit_twice(
            server, session_site(server.origin, name), folder, ENGINES,
            lambda: server.restart(DJANGO_SECRET_KEY=new_key),
        )  # fmt: skip


@pytest.fixture(scope="module")
def rotated_key(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Visits:
    return _restarted(tmp_path_factory.mktemp("django-rotated"), django_db, "django-rotated-key", rotate=True)


@pytest.fixture(scope="module")
def same_key(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Visits:
    return _restarted(tmp_path_factory.mktemp("django-same"), django_db, "django-same-key", rotate=False)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", ["rotated_key", "same_key"])
def test_first_visit_signs_in(request: pytest.FixtureRequest, case: str, engine: str) -> None:
    visits: Visits = request.getfixturevalue(case)
    visits.assert_first_visit_signed_in(engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_rotated_secret_key_is_a_stale_cookie(rotated_key: Visits, engine: str) -> None:
    rotated_key.assert_returning(engine, "stale-cookie")


@pytest.mark.parametrize("engine", ENGINES)
def test_same_secret_key_is_none(same_key: Visits, engine: str) -> None:
    same_key.assert_returning(engine, "none")
