"""Django REST framework's own authentication and permission classes, and Django's session settings,
configured into one failure each (env vars of the test project), with loginprobe run as a user runs it.

- TokenAuthentication wants `Authorization: Token <key>`: the bearer flow's default `Bearer <key>` is
  wrong-auth-scheme (401 `WWW-Authenticate: Token`); `[sites.token] scheme = "Token"` is the control.
- A deleted token: 401 "Invalid token." -> invalid-credentials.
- IsAdminUser and a non-admin user's valid token: 403 -> insufficient-permissions; the admin's: none.
- SessionAuthentication (DRF's default pair Session + Basic) answers an unauthenticated request 403
  "Authentication credentials were not provided.": that 403 means "not signed in", never a missing
  permission. With SESSION_COOKIE_PATH="/admin/" or SESSION_COOKIE_DOMAIN of another domain, the
  session cookie never reaches /api/: cookie-blocked. With CSRF_COOKIE_DOMAIN of another domain the
  login form's POST fails Django's CSRF check: cookie-blocked too. A wrong password:
  invalid-credentials. Default settings: none.
- Returning visits (the first check creates the profile): the sessions deleted on the server, or the
  session cookie's SESSION_COOKIE_AGE passed: stale-cookie; nothing changed: none.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.realworld.conftest import django_server, manage
from tests.realworld.servers import PASSWORD_ENV, Checked, check, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]
SESSION_API = {"DJANGO_API_AUTH": "session,basic"}  # DRF's default authentication classes
SESSION_AGE_S = 20


def drf_token(db: Path, user: str) -> str:
    """A DRF token for `user`, made the way an admin makes one (`manage.py drf_create_token`)."""
    out = manage(db, "drf_create_token", user)
    found = re.search(r"Generated token (\w+) for user", out)
    assert found, out
    return found.group(1)


def api_site(origin: str, name: str, token_env: str, scheme: str | None = None) -> dict[str, object]:
    """The config a user writes for a token API called from a page of the app (the bearer flow)."""
    site: dict[str, object] = {
        "name": name,
        "url": f"{origin}/app/",
        "protected_url": f"{origin}/api/data/",
        "flow": "bearer",
        "credentials": {"token_env": token_env},
    }
    if scheme is not None:
        site["token"] = {"scheme": scheme}
    return site


def session_site(origin: str, name: str) -> dict[str, object]:
    """Django's login page, the app page whose script calls the DRF API with the session cookie."""
    return {
        "name": name,
        "url": f"{origin}/accounts/login/?next=/data-app/",
        "app_url": f"{origin}/data-app/",
        "protected_url": f"{origin}/api/data/",
        "flow": "form",
        "credentials": {"username": "alice", "password_env": PASSWORD_ENV},
    }


@pytest.fixture(scope="module")
def drf_db(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Path:
    """The project's database with a second, non-admin user bob (alice is a superuser)."""
    db = tmp_path_factory.mktemp("drf-template") / "db.sqlite3"
    shutil.copy(django_db, db)
    manage(db, "shell", "-c", "from django.contrib.auth.models import User; User.objects.create_user('bob')")
    return db


@pytest.fixture(scope="module")
def token_visits(tmp_path_factory: pytest.TempPathFactory, drf_db: Path) -> Iterator[Checked]:
    """One fresh check of the token API cases (the bearer flow: a fetch from a page of the app)."""
    folder = tmp_path_factory.mktemp("drf-tokens")
    with ExitStack() as stack:
        origins = {}
        for name, env in (("tokens", {}), ("admin-only", {"DJANGO_API_PERMISSION": "IsAdminUser"})):
            (folder / name).mkdir()
            key = secrets.token_urlsafe(40)
            origins[name] = stack.enter_context(django_server(folder / name, drf_db, key, **env)).origin
        tokens_db, admin_db = folder / "tokens" / "db.sqlite3", folder / "admin-only" / "db.sqlite3"
        alice, deleted = drf_token(tokens_db, "alice"), drf_token(tokens_db, "bob")
        manage(tokens_db, "drf_create_token", "-r", "bob")  # bob's old key is gone
        # The tokens live where a user keeps them: a .env file next to the config (README).
        (folder / ".env").write_text(
            f"ALICE_TOKEN={alice}\nDELETED_TOKEN={deleted}\n"
            f"ALICE_ADMIN_TOKEN={drf_token(admin_db, 'alice')}\nBOB_TOKEN={drf_token(admin_db, 'bob')}\n",
            encoding="utf-8",
        )
        tokens, admin_only = origins["tokens"], origins["admin-only"]
        sites = [
            api_site(tokens, "drf-bearer-scheme", "ALICE_TOKEN"),
            api_site(tokens, "drf-token-scheme", "ALICE_TOKEN", scheme="Token"),
            api_site(tokens, "drf-token-deleted", "DELETED_TOKEN", scheme="Token"),
            api_site(admin_only, "drf-not-admin", "BOB_TOKEN", scheme="Token"),
            api_site(admin_only, "drf-admin", "ALICE_ADMIN_TOKEN", scheme="Token"),
        ]
        config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
        yield check(config, folder / "reports", ENGINES, ["fresh"], folder)


@pytest.fixture(scope="module")
def session_visits(tmp_path_factory: pytest.TempPathFactory, drf_db: Path) -> Iterator[Checked]:
    """One fresh check of the session cases: Django's login form, the app page's call to the DRF API."""
    folder = tmp_path_factory.mktemp("drf-sessions")
    (folder / ".env").write_text("WRONG_PASSWORD=not-alices-password\n", encoding="utf-8")
    servers = {
        "django-session": {},
        "django-cookie-path": {"DJANGO_SESSION_COOKIE_PATH": "/admin/"},
        "django-cookie-domain": {"DJANGO_SESSION_COOKIE_DOMAIN": "example.com"},
        "django-csrf-cookie-domain": {"DJANGO_CSRF_COOKIE_DOMAIN": "example.com"},
        "django-wrong-password": {},
    }
    with ExitStack() as stack:
        sites = []
        for name, env in servers.items():
            (folder / name).mkdir()
            key = secrets.token_urlsafe(40)
            server = stack.enter_context(django_server(folder / name, drf_db, key, **env, **SESSION_API))
            sites.append(session_site(server.origin, name))
        sites[-1]["credentials"] = {"username": "alice", "password_env": "WRONG_PASSWORD"}
        config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
        yield check(config, folder / "reports", ENGINES, ["fresh"], folder)


@pytest.fixture(scope="module")
def first_visits(token_visits: Checked, session_visits: Checked) -> dict[str, Checked]:
    """Each first-visit site's verdict, by site name."""
    checks = {name: token_visits for name in (v["site"] for v in token_visits.report["verdicts"])}
    checks.update({v["site"]: session_visits for v in session_visits.report["verdicts"]})
    return {name: checked.site(name) for name, checked in checks.items()}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("site", "cause"),
    [
        ("drf-bearer-scheme", "wrong-auth-scheme"),
        ("drf-token-scheme", "none"),
        ("drf-token-deleted", "invalid-credentials"),
        ("drf-not-admin", "insufficient-permissions"),
        ("drf-admin", "none"),
        ("django-session", "none"),
        ("django-cookie-path", "cookie-blocked"),
        ("django-cookie-domain", "cookie-blocked"),
        ("django-csrf-cookie-domain", "cookie-blocked"),
        ("django-wrong-password", "invalid-credentials"),
    ],
)
def test_first_visit(first_visits: dict[str, Checked], site: str, cause: str, engine: str) -> None:
    first_visits[site].assert_primary(engine, cause)


def test_a_drf_403_for_no_credentials_is_no_permission_problem(first_visits: dict[str, Checked]) -> None:
    # DRF's SessionAuthentication answers 403 "Authentication credentials were not provided.".
    for name in ("django-cookie-path", "django-cookie-domain", "django-csrf-cookie-domain"):
        causes = {f["cause"] for f in first_visits[name].verdict["findings"]}
        assert "insufficient-permissions" not in causes, first_visits[name].explain()
    assert "`sessionid`" in first_visits["django-cookie-path"].verdict["summary"]
    assert "`csrftoken`" in first_visits["django-csrf-cookie-domain"].verdict["summary"]


def _returning(folder: Path, drf_db: Path, servers: dict[str, dict[str, str]], change: str) -> Checked:
    """A first visit creates each site's profile; then the server `change`s; then the returning user's
    check. `servers`: site name -> the server's settings; the `change` is made to the first one's."""
    with ExitStack() as stack:
        sites = []
        for name, env in servers.items():
            (folder / name).mkdir()
            server = stack.enter_context(
                django_server(folder / name, drf_db, secrets.token_urlsafe(40), **env)
            )
            sites.append(session_site(server.origin, name))
        config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
        first = check(config, folder / "reports-first", ENGINES, ["persisted"], folder)
        for name in servers:
            for engine in ENGINES:
                (run,) = first.site(name).runs(engine, "persisted")
                assert run["outcome"]["success"], first.site(name).explain()
        if change == "delete sessions":  # what an admin does to sign everybody out
            manage(
                folder / next(iter(servers)) / "db.sqlite3", "shell", "-c",
                "from django.contrib.sessions.models import Session; Session.objects.all().delete()",
            )  # fmt: skip
        else:  # wait: every session cookie has passed its SESSION_COOKIE_AGE
            time.sleep(SESSION_AGE_S + 1)
        return check(config, folder / "reports-returning", ENGINES, ["fresh", "persisted"], folder)


@pytest.fixture(scope="module")
def sessions_deleted(tmp_path_factory: pytest.TempPathFactory, drf_db: Path) -> Checked:
    """Sessions deleted on the server between visits; the control site's server keeps its sessions."""
    servers = {"django-sessions-deleted": SESSION_API, "django-session-kept": SESSION_API}
    return _returning(tmp_path_factory.mktemp("drf-deleted"), drf_db, servers, "delete sessions")


@pytest.fixture(scope="module")
def session_expired(tmp_path_factory: pytest.TempPathFactory, drf_db: Path) -> Checked:
    """The session cookie's Max-Age (SESSION_COOKIE_AGE) passed between visits."""
    servers = {"django-session-expired": {"DJANGO_SESSION_COOKIE_AGE": str(SESSION_AGE_S), **SESSION_API}}
    return _returning(tmp_path_factory.mktemp("drf-expired"), drf_db, servers, "wait")


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("site", "cause"), [("django-sessions-deleted", "stale-cookie"), ("django-session-kept", "none")]
)
def test_returning_visit_after_sessions_deleted(
    sessions_deleted: Checked, site: str, cause: str, engine: str
) -> None:
    sessions_deleted.site(site).assert_returning_visit(engine, success=cause == "none")
    sessions_deleted.site(site).assert_primary(engine, cause)


@pytest.mark.parametrize("engine", ENGINES)
def test_returning_visit_after_session_cookie_expired(session_expired: Checked, engine: str) -> None:
    expired = session_expired.site("django-session-expired")
    expired.assert_returning_visit(engine, success=False)
    expired.assert_primary(engine, "stale-cookie")
    summary = expired.verdict["summary"]
    assert "`sessionid`" in summary and f"Max-Age={SESSION_AGE_S}" in summary, summary
