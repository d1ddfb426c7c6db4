"""Django's session and auth apps under gunicorn: a returning user whose session died with a rotated
`SECRET_KEY` (Django checks each session's auth hash against the key, so every session is signed out).

Given a user who signed in yesterday (the first check creates the persisted profile),
when the server restarts with a new SECRET_KEY, the returning visit's app page gets 401 from the
session API: `stale-cookie`. The control restarts with the same key: `none`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realworld.conftest import django_server
from tests.realworld.servers import PASSWORD_ENV, Returning, check, write_config

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


def _after_restart(folder: Path, django_db: Path, rotate: bool) -> Iterator[Returning]:
    key = secrets.token_urlsafe(40)
    with django_server(folder, django_db, key) as server:
        name = "django-rotated-key" if rotate else "django-same-key"
        config = write_config(
            folder / "loginprobe.toml", session_site(server.origin, name), folder / "profiles"
        )
        first = check(config, folder / "reports-first", ENGINES, ["persisted"], folder)
        server.restart(DJANGO_SECRET_KEY=secrets.token_urlsafe(40) if rotate else key)
        yield Returning(server, config, folder, first)


@pytest.fixture(scope="module")
def rotated_key(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Iterator[Returning]:
    yield from _after_restart(tmp_path_factory.mktemp("django-rotated"), django_db, rotate=True)


@pytest.fixture(scope="module")
def same_key(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Iterator[Returning]:
    yield from _after_restart(tmp_path_factory.mktemp("django-same"), django_db, rotate=False)


@pytest.mark.parametrize("case", ["rotated_key", "same_key"])
def test_first_visit_signs_in(request: pytest.FixtureRequest, case: str) -> None:
    returning: Returning = request.getfixturevalue(case)
    returning.assert_first_visit_signed_in(ENGINES)


@pytest.mark.parametrize("engine", ENGINES)
def test_rotated_secret_key_is_a_stale_cookie(rotated_key: Returning, engine: str) -> None:
    checked = rotated_key.returning_check(engine)
    checked.assert_returning_visit(engine, success=False)
    assert checked.primary == "stale-cookie", checked.explain()


@pytest.mark.parametrize("engine", ENGINES)
def test_same_secret_key_is_none(same_key: Returning, engine: str) -> None:
    checked = same_key.returning_check(engine)
    checked.assert_returning_visit(engine, success=True)
    assert checked.primary == "none", checked.explain()
