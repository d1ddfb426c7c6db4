"""WebKit (WebKitGTK over WebDriver) against the real servers the Chromium/Firefox suite uses.

WebKit shows less than the other engines (no Cookie or Set-Cookie headers, not the headers of the 401s
it answered), so each case must end in the cause it was built to have, or in an `unknown` whose summary
says what WebKit could not observe: never in another cause. One fresh check serves the first-visit
cases: Django's login form (wrong password, control), DRF TokenAuthentication (Bearer where it wants
Token, a deleted token, the right scheme as control), nginx `auth_basic` and Apache `mod_auth_digest`
(wrong and right password), Apache `Require user` refusing the signed-in user, nginx `proxy_cache`
replaying a 401 (with and without a sign; 200-only caching as control), httpbin `/bearer` (no token, a
token), oidc-provider + express-openid-connect (wrong password at the provider, a wrong client secret, a
session too large for Node's headers, an app page's third-party beacon alone, control), and causes only
the cookie headers show (DRF's session cookie on another path, express-openid-connect's SameSite=Strict
transaction cookie, and a claim the user lacks, read from the session the 401 renews, beside a beacon).
One first visit and one returning check serve the returning cases: Django restarted with a rotated
SECRET_KEY (and the same key), every DRF session deleted on the server, Varnish keeping a revoked token
by Cookie (and a pass-through VCL), json-server-auth's JWT in localStorage two hours later (and on the
real clock).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from loginprobe.evidence import Engine, EngineStatus
from tests.conftest import require_engine
from tests.faults.third_party import httpbin, nginx_auth_basic
from tests.realworld.apache import apache_root, apache_server, htdigest, htpasswd, page
from tests.realworld.conftest import django_server, json_server_auth, manage, nginx_server, varnish_server
from tests.realworld.servers import PASSWORD, PASSWORD_ENV, Checked, check, free_port, write_config
from tests.realworld.test_drf import SESSION_API, api_site, drf_db, drf_token, session_site  # noqa: F401  (fixture)
from tests.realworld.test_json_server_auth import later, spa_site
from tests.realworld.test_nginx import basic_origin, cache_conf, cache_sites, prime
from tests.realworld.test_oidc import USER, OidcServers, oidc_servers, oidc_site  # noqa: F401  (fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["webkit"]
WRONG_ENV = "WEBKIT_WRONG_PASSWORD"
WRONG_PASSWORD = "not-alices-password-3"
HTTPBIN_TOKEN = "tok-7Hq2Lm9Xc4Vb8Nz1"
# The first-visit cases: site -> the cause it was built to have.
FRESH_CASES = {
    "django-form-right": "none",
    "django-form-wrong": "invalid-credentials",
    "drf-bearer-scheme": "wrong-auth-scheme",
    "drf-token-scheme": "none",
    "drf-token-deleted": "invalid-credentials",
    "nginx-basic-wrong": "invalid-credentials",
    "nginx-basic-right": "none",
    "apache-digest-wrong": "invalid-credentials",
    "apache-digest-right": "none",
    # `Require user bob` inside alice's realm: Apache answers her 401 with the same challenge; the realm
    # probe (the same credentials at the parent path, accepted) tells it from a wrong password
    "apache-require-user": "insufficient-permissions",
    # nginx proxy_cache_valid 401 with its default key (the URL): the 401 from before is replayed, with
    # X-Cache-Status (hit) or without a sign (quiet: the cache probe tells); 200-only caching as control
    "cached-401-hit": "stale-cache",
    "cached-401-quiet": "stale-cache",
    "cached-401-bearer-quiet": "stale-cache",
    "cached-401-ok": "none",
    "cached-401-bearer-ok": "none",
    "httpbin-bearer-no-token": "missing-credentials",
    "httpbin-bearer": "none",
    "oidc-control": "none",
    "oidc-wrong-password": "invalid-credentials",
    "oidc-wrong-client-secret": "server-misconfiguration",
    # the ID token's 1200 groups split the session into 8 cookies and Node answers 431
    "oidc-session-too-large": "server-misconfiguration",
    # the app page posts a beacon to another site (401) and loads its tracker (403): noise
    "oidc-noise-only": "none",
}
# Cases whose cause is read from the Cookie or Set-Cookie headers, which WebKit hides: the cause, or an
# unknown that says what WebKit could not observe (never another cause).
NOT_OBSERVABLE_CASES = {
    "django-cookie-path": "cookie-blocked",  # SESSION_COOKIE_PATH="/admin/": the session stays off /api/
    "oidc-strict": "cookie-blocked",  # the transaction cookie SameSite=Strict, left off the way back
    # a claim the user lacks, read from the session cookie the 401 renews; a 401 beacon beside it
    "oidc-noise-and-claim-missing": "insufficient-permissions",
}
# The returning cases: site -> the cause of the returning visit after the server changed.
RETURNING_CASES = {
    "django-rotated-key": "stale-cookie",
    "django-same-key": "none",
    "django-sessions-deleted": "stale-cookie",
    "varnish-token-cache": "stale-cache",
    "varnish-pass": "none",
    "json-server-auth-expired": "expired-token",
    "json-server-auth-valid": "none",
}
APACHE_CONF = """<Location /staff/>
  AuthType Basic
  AuthName "staff"
  AuthUserFile {root}/users
  Require valid-user
</Location>
<Location /staff/admin/>
  Require user bob
</Location>
<Location /vault/>
  AuthType Digest
  AuthName "vault"
  AuthDigestProvider file
  AuthUserFile {root}/digest-users
  Require valid-user
</Location>
"""


def form_site(origin: str, name: str, app: str, protected: str, password_env: str) -> dict[str, Any]:
    """Django's login page, the app page the login leads to, the API that page (or the check) calls."""
    return {
        "name": name,
        "url": f"{origin}/accounts/login/?next={app}",
        "app_url": f"{origin}{app}",
        "protected_url": f"{origin}{protected}",
        "flow": "form",
        "credentials": {"username": "alice", "password_env": password_env},
    }


def auth_site(url: str, name: str, flow: str, password_env: str, user: str = "alice") -> dict[str, Any]:
    return {
        "name": name,
        "url": url,
        "flow": flow,
        "credentials": {"username": user, "password_env": password_env},
    }


@dataclass
class Written:
    """The report folders the checks wrote and the secrets they were given (none may appear in them)."""

    folders: list[Path] = field(default_factory=list)
    secrets: list[str] = field(default_factory=lambda: [PASSWORD, WRONG_PASSWORD, HTTPBIN_TOKEN])


@pytest.fixture(scope="module")
def written(engine_status: dict[Engine, EngineStatus]) -> Written:
    require_engine(engine_status, "webkit")  # skipped, with discovery's reason, where WebKit cannot run
    return Written()


@pytest.fixture(scope="module")
def fresh(
    tmp_path_factory: pytest.TempPathFactory,
    drf_db: Path,  # noqa: F811
    oidc_servers: OidcServers,  # noqa: F811
    written: Written,
) -> Iterator[Checked]:
    """One fresh WebKit check of every first-visit case and its control."""
    folder = tmp_path_factory.mktemp("webkit-fresh")
    with ExitStack() as stack:
        for sub in ("django", "drf", "nginx", "httpbin", "cookie-path", "origin", "cache"):
            (folder / sub).mkdir()
        cookie_path = stack.enter_context(
            django_server(
                folder / "cookie-path", drf_db, secrets.token_urlsafe(40),
                DJANGO_SESSION_COOKIE_PATH="/admin/", **SESSION_API,
            )
        )  # fmt: skip
        django = stack.enter_context(django_server(folder / "django", drf_db, secrets.token_urlsafe(40)))
        drf = stack.enter_context(django_server(folder / "drf", drf_db, secrets.token_urlsafe(40)))
        drf_tokens = folder / "drf" / "db.sqlite3"
        alice, deleted = drf_token(drf_tokens, "alice"), drf_token(drf_tokens, "bob")
        manage(drf_tokens, "drf_create_token", "-r", "bob")  # bob's old key is gone
        written.secrets += [alice, deleted]
        nginx = stack.enter_context(nginx_auth_basic(folder / "nginx", "alice", PASSWORD))
        bin_origin = stack.enter_context(httpbin(folder / "httpbin"))
        root = stack.enter_context(apache_root())
        htdigest(root / "digest-users", "vault", "alice", PASSWORD)
        htpasswd(root / "users", "alice", PASSWORD)
        htpasswd(root / "users", "bob", "bob-pass-2")
        for path in ("/vault/", "/staff/", "/staff/admin/"):
            page(root, path, path)
        apache = stack.enter_context(apache_server(root, APACHE_CONF.format(root=root), port=free_port()))
        # nginx proxy_cache keeping 401s by URL in front of nginx auth_basic and httpbin /bearer, primed
        # by the request that came before the credential was fixed (test_nginx.py's cases)
        origin = stack.enter_context(nginx_server(folder / "origin", basic_origin(folder / "origin")))
        cache = stack.enter_context(nginx_server(folder / "cache", *cache_conf(origin.origin, bin_origin)))
        cached = cache_sites(cache.origin)
        for site in cached:
            assert prime(str(site.get("protected_url", site["url"]))) == 401
        (folder / ".env").write_text(
            f"{WRONG_ENV}={WRONG_PASSWORD}\nALICE_TOKEN={alice}\nDELETED_TOKEN={deleted}\n"
            f"HTTPBIN_TOKEN={HTTPBIN_TOKEN}\n",
            encoding="utf-8",
        )
        oidc, claims = oidc_servers.rp["control"], oidc_servers.rp["claims"]
        oidc_wrong = oidc_site(oidc, "oidc-wrong-password")
        oidc_wrong["credentials"] = {"username": USER, "password_env": WRONG_ENV}
        httpbin_bearer = {"url": f"{bin_origin}/", "protected_url": f"{bin_origin}/bearer", "flow": "bearer"}
        sites = [
            form_site(django.origin, "django-form-right", "/app/", "/api/me/", PASSWORD_ENV),
            form_site(django.origin, "django-form-wrong", "/app/", "/api/me/", WRONG_ENV),
            api_site(drf.origin, "drf-bearer-scheme", "ALICE_TOKEN"),
            api_site(drf.origin, "drf-token-scheme", "ALICE_TOKEN", scheme="Token"),
            api_site(drf.origin, "drf-token-deleted", "DELETED_TOKEN", scheme="Token"),
            auth_site(f"{nginx}/api/items.json", "nginx-basic-wrong", "basic", WRONG_ENV),
            auth_site(f"{nginx}/api/items.json", "nginx-basic-right", "basic", PASSWORD_ENV),
            auth_site(f"{apache.origin}/vault/", "apache-digest-wrong", "digest", WRONG_ENV),
            auth_site(f"{apache.origin}/vault/", "apache-digest-right", "digest", PASSWORD_ENV),
            auth_site(f"{apache.origin}/staff/admin/", "apache-require-user", "basic", PASSWORD_ENV),
            *cached,
            {"name": "httpbin-bearer-no-token", **httpbin_bearer},
            {"name": "httpbin-bearer", **httpbin_bearer, "credentials": {"token_env": "HTTPBIN_TOKEN"}},
            oidc_site(oidc, "oidc-control"),
            oidc_wrong,
            oidc_site(oidc_servers.rp["bad-secret"], "oidc-wrong-client-secret"),
            session_site(cookie_path.origin, "django-cookie-path"),
            oidc_site(oidc_servers.rp["strict"], "oidc-strict"),
            oidc_site(oidc_servers.rp["big-session"], "oidc-session-too-large"),
            oidc_site(oidc, "oidc-noise-only", app_url=f"{oidc}/app?api=/profile"),
            oidc_site(
                claims,
                "oidc-noise-and-claim-missing",
                protected_url=f"{claims}/admin",
                app_url=f"{claims}/app?api=/admin",
            ),
        ]
        config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
        written.folders.append(folder / "reports")
        yield check(config, folder / "reports", ENGINES, ["fresh"], folder)


@pytest.fixture(scope="module")
def returning(
    tmp_path_factory: pytest.TempPathFactory, django_db: Path, written: Written
) -> Iterator[tuple[Checked, Checked]]:
    """The first visit (it creates each site's WebKit profile), every server changed, the returning check."""
    folder = tmp_path_factory.mktemp("webkit-returning")
    changes: list[Callable[[], object]] = []
    with ExitStack() as stack:
        for sub in ("rotated", "same", "deleted", "cache", "pass", "jsa-expired", "jsa-valid"):
            (folder / sub).mkdir()
        sites = []
        for sub, name, rotate in (
            ("rotated", "django-rotated-key", True),
            ("same", "django-same-key", False),
        ):
            key = secrets.token_urlsafe(40)
            server = stack.enter_context(django_server(folder / sub, django_db, key))
            new_key = secrets.token_urlsafe(40) if rotate else key
            changes.append(lambda server=server, new_key=new_key: server.restart(DJANGO_SECRET_KEY=new_key))
            sites.append(form_site(server.origin, name, "/app/", "/api/me/", PASSWORD_ENV))
        # DRF's session API: every session deleted on the server between the visits (an admin signing
        # everybody out); the rotated and same-key servers above show the two other sides
        deleted = stack.enter_context(
            django_server(folder / "deleted", django_db, secrets.token_urlsafe(40), **SESSION_API)
        )
        changes.append(
            lambda: manage(
                folder / "deleted" / "db.sqlite3", "shell", "-c",
                "from django.contrib.sessions.models import Session; Session.objects.all().delete()",
            )
        )  # fmt: skip
        sites.append(session_site(deleted.origin, "django-sessions-deleted"))
        for sub, name, vcl in (
            ("cache", "varnish-token-cache", "token-cache.vcl"),
            ("pass", "varnish-pass", "pass.vcl"),
        ):
            app = stack.enter_context(django_server(folder / sub, django_db, secrets.token_urlsafe(40)))
            varnish = stack.enter_context(varnish_server(folder / sub, vcl, app))
            db = folder / sub / "db.sqlite3"
            changes.append(lambda db=db: manage(db, "drf_create_token", "-r", "alice"))  # tokens revoked
            sites.append(form_site(varnish.origin, name, "/token-app/", "/api/data/", PASSWORD_ENV))
        for sub, name, hours in (
            ("jsa-expired", "json-server-auth-expired", 2),
            ("jsa-valid", "json-server-auth-valid", 0),
        ):
            jsa = stack.enter_context(json_server_auth(folder / sub))

            def restart(jsa: Any = jsa, hours: int = hours) -> None:
                if hours:
                    jsa.argv = later(jsa.argv, hours)
                jsa.restart(FAKETIME_DONT_FAKE_MONOTONIC="1")

            changes.append(restart)
            sites.append(spa_site(jsa.origin, name))
        config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
        written.folders += [folder / "reports-first", folder / "reports-returning"]
        first = check(config, folder / "reports-first", ENGINES, ["persisted"], folder)
        for change in changes:
            change()
        yield first, check(config, folder / "reports-returning", ENGINES, ["fresh", "persisted"], folder)


def _secrets_in(folder: Path, secrets_: list[str]) -> list[str]:
    """Files under `folder` (the reports loginprobe wrote) that hold one of `secrets_` in clear."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path.name}: {s[:4]}..." for s in secrets_ if s.encode() in data]
    return found


@pytest.mark.parametrize(("site", "cause"), FRESH_CASES.items())
def test_first_visit_in_webkit(fresh: Checked, site: str, cause: str) -> None:
    fresh.site(site).assert_primary("webkit", cause)


@pytest.mark.parametrize(("site", "cause"), NOT_OBSERVABLE_CASES.items())
def test_a_cause_read_from_cookie_headers_is_named_or_an_honest_unknown(
    fresh: Checked, site: str, cause: str
) -> None:
    checked = fresh.site(site)
    assert checked.primary in (cause, "unknown"), checked.explain()
    assert "webkit" in checked.verdict["engines_failing"], checked.explain()
    if checked.primary == "unknown":
        assert "In webkit, loginprobe could not observe" in checked.verdict["summary"], checked.explain()
        assert "which cookies each request carried" in checked.verdict["summary"], checked.explain()


def test_the_providers_consent_page_is_pressed(fresh: Checked) -> None:
    # oidc-provider asks for consent after the password: the WebKit flow presses its one "Continue"
    # button as the Playwright flow does (before, the run waited on that page until its timeout).
    checked = fresh.site("oidc-control")
    (run,) = checked.runs("webkit", "fresh")
    posted = [e["url"] for e in run["exchanges"] if e["method"] == "POST"]
    assert any(url.endswith("/confirm") for url in posted), checked.explain()


@pytest.mark.parametrize("site", RETURNING_CASES)
def test_first_visit_signs_in(returning: tuple[Checked, Checked], site: str) -> None:
    first = returning[0].site(site)
    (run,) = first.runs("webkit", "persisted")
    assert run["outcome"]["success"] and run.get("returning_visit") is False, first.explain()


@pytest.mark.parametrize(("site", "cause"), RETURNING_CASES.items())
def test_returning_visit_in_webkit(returning: tuple[Checked, Checked], site: str, cause: str) -> None:
    checked = returning[1].site(site)
    checked.assert_returning_visit("webkit", success=cause == "none")
    checked.assert_primary("webkit", cause)


def test_varnish_hit_is_not_called_the_browsers_cache(returning: tuple[Checked, Checked]) -> None:
    # Varnish answers with the origin's Date and its own Age: WebKit's cache heuristic (no engine flag)
    # must not take that old Date for its own disk cache, and the verdict names the shared cache instead.
    checked = returning[1].site("varnish-token-cache")
    token = [e for e in checked.returning_run("webkit")["exchanges"] if e["url"].endswith("/api/token/")]
    assert token and all(e["served_from"] == "network" for e in token), checked.explain()
    assert "X-Varnish" in checked.verdict["summary"], checked.explain()
    assert "browser's disk cache" not in checked.verdict["summary"], checked.explain()


def test_nothing_written_holds_a_secret(
    fresh: Checked, returning: tuple[Checked, Checked], written: Written
) -> None:
    assert len(written.folders) == 3 and all(f.is_dir() for f in written.folders), written.folders
    leaked = [hit for folder in written.folders for hit in _secrets_in(folder, written.secrets)]
    assert not leaked, leaked
