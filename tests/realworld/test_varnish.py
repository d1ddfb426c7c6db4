"""Varnish (Debian) in front of the Django project: a shared cache that keeps the token document per
Cookie header, although the origin marks it `no-store`.

Given a user who signed in yesterday (the first check creates the persisted profile; the app page's
script fetched /api/token/ through Varnish, which kept it under the session cookie),
when the tokens are revoked (DRF's `drf_create_token -r`), the returning visit gets the cached,
revoked token from Varnish and the API answers 401 `Invalid token.`: `stale-cache`.
The control runs the same Varnish with a VCL that passes every request: `none`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realworld.conftest import django_server, manage, varnish_server
from tests.realworld.servers import PASSWORD_ENV, Returning, check, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]


def token_site(origin: str, name: str) -> dict[str, object]:
    """Django's login page, the page whose script fetches the token, the DRF API it calls: via Varnish."""
    return {
        "name": name,
        "url": f"{origin}/accounts/login/?next=/token-app/",
        "app_url": f"{origin}/token-app/",
        "protected_url": f"{origin}/api/data/",
        "flow": "form",
        "credentials": {"username": "alice", "password_env": PASSWORD_ENV},
    }


def _after_revocation(folder: Path, django_db: Path, vcl: str, name: str) -> Iterator[Returning]:
    with (
        django_server(folder, django_db, secrets.token_urlsafe(40)) as app,
        varnish_server(folder, vcl, app) as varnish,
    ):
        config = write_config(
            folder / "loginprobe.toml", token_site(varnish.origin, name), folder / "profiles"
        )
        first = check(config, folder / "reports-first", ENGINES, ["persisted"], folder)
        manage(folder / "db.sqlite3", "drf_create_token", "-r", "alice")
        yield Returning(varnish, config, folder, first)


@pytest.fixture(scope="module")
def cached_token(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Iterator[Returning]:
    folder = tmp_path_factory.mktemp("varnish-cache")
    yield from _after_revocation(folder, django_db, "token-cache.vcl", "varnish-token-cache")


@pytest.fixture(scope="module")
def passed_token(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Iterator[Returning]:
    folder = tmp_path_factory.mktemp("varnish-pass")
    yield from _after_revocation(folder, django_db, "pass.vcl", "varnish-pass")


@pytest.mark.parametrize("case", ["cached_token", "passed_token"])
def test_first_visit_signs_in(request: pytest.FixtureRequest, case: str) -> None:
    returning: Returning = request.getfixturevalue(case)
    returning.assert_first_visit_signed_in(ENGINES)


@pytest.mark.parametrize("engine", ENGINES)
def test_token_cached_by_cookie_is_stale_cache(cached_token: Returning, engine: str) -> None:
    checked = cached_token.returning_check(engine)
    checked.assert_returning_visit(engine, success=False)
    assert checked.primary == "stale-cache", checked.explain()


@pytest.mark.parametrize("engine", ENGINES)
def test_token_passed_through_is_none(passed_token: Returning, engine: str) -> None:
    checked = passed_token.returning_check(engine)
    checked.assert_returning_visit(engine, success=True)
    assert checked.primary == "none", checked.explain()
