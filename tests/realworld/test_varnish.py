"""Varnish (Debian) in front of the Django project: a shared cache that keeps the token document per
Cookie header, although the origin marks it `no-store`.

Given a user who signed in yesterday (the first check creates the persisted profile; the app page's
script fetched /api/token/ through Varnish, which kept it under the session cookie),
when the tokens are revoked (DRF's `drf_create_token -r`), the returning visit gets the cached,
revoked token from Varnish and the API answers 401 `Invalid token.`: `stale-cache`.
The control runs the same Varnish with a VCL that passes every request: `none`.
The same app without Varnish, its token document marked `private, max-age=3600`, has the browser's
own HTTP cache replay the revoked token: `stale-cache` too.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.realworld.conftest import django_server, manage, varnish_server
from tests.realworld.servers import PASSWORD_ENV, Visits, visit_twice

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


def _revoked(folder: Path, django_db: Path, vcl: str, name: str) -> Visits:
    with (
        django_server(folder, django_db, secrets.token_urlsafe(40)) as app,
        varnish_server(folder, vcl, app) as varnish,
    ):
        return visit_twice(
            varnish, token_site(varnish.origin, name), folder, ENGINES,
            lambda: manage(folder / "db.sqlite3", "drf_create_token", "-r", "alice"),
        )  # fmt: skip


@pytest.fixture(scope="module")
def cached_token(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Visits:
    return _revoked(
        tmp_path_factory.mktemp("varnish-cache"), django_db, "token-cache.vcl", "varnish-token-cache"
    )


@pytest.fixture(scope="module")
def passed_token(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Visits:
    return _revoked(tmp_path_factory.mktemp("varnish-pass"), django_db, "pass.vcl", "varnish-pass")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", ["cached_token", "passed_token"])
def test_first_visit_signs_in(request: pytest.FixtureRequest, case: str, engine: str) -> None:
    visits: Visits = request.getfixturevalue(case)
    visits.assert_first_visit_signed_in(engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_token_cached_by_cookie_is_stale_cache(cached_token: Visits, engine: str) -> None:
    cached_token.assert_returning(engine, "stale-cache")


@pytest.mark.parametrize("engine", ENGINES)
def test_token_passed_through_is_none(passed_token: Visits, engine: str) -> None:
    passed_token.assert_returning(engine, "none")


def _revoked_from_browser_cache(folder: Path, django_db: Path) -> Visits:
    """No Varnish: the origin itself lets the browser keep the token document (`private, max-age`)."""
    with django_server(folder, django_db, secrets.token_urlsafe(40), DJANGO_TOKEN_CACHE="private") as app:
        return visit_twice(
            app, token_site(app.origin, "django-token-private"), folder, ENGINES,
            lambda: manage(folder / "db.sqlite3", "drf_create_token", "-r", "alice"),
        )  # fmt: skip


@pytest.fixture(scope="module")
def browser_cached_token(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Visits:
    return _revoked_from_browser_cache(tmp_path_factory.mktemp("django-private"), django_db)


@pytest.mark.parametrize("engine", ENGINES)
def test_first_visit_signs_in_browser_cache(browser_cached_token: Visits, engine: str) -> None:
    browser_cached_token.assert_first_visit_signed_in(engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_token_kept_by_browser_cache_is_stale_cache(browser_cached_token: Visits, engine: str) -> None:
    # Given the same app, whose token document is `private, max-age=3600` (its control is the
    # pass-through case above: the same document marked no-store, the same flow),
    # when the tokens are revoked, the returning browser replays the document from its own cache.
    browser_cached_token.assert_returning(engine, "stale-cache")
