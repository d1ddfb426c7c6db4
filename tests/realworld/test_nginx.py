"""nginx (Debian nginx-light) configured into failures a user meets: an app whose API key comes from a
cached `config.json`, API keys checked with `map`, a cache that keeps a 401, a canonical-host redirect,
a reverse proxy that drops the Authorization header. Each failure has a control that must stay `none`.

The apps are static files nginx serves; behind nginx are the Django project under gunicorn, httpbin and
another nginx with `auth_basic`.
"""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.faults.third_party import httpbin, sha_htpasswd
from tests.realworld.conftest import django_server, nginx_server, reconfigure_nginx, varnish_server
from tests.realworld.servers import PASSWORD, PASSWORD_ENV, Checked, Visits, check, visit_twice, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]

# The app page of a console whose script reads its API key from config.json and calls the API with it.
CONSOLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Console</title></head>
<body><h1>Console</h1><p id="status">Loading…</p>
<script>
  (async () => {
    const config = await (await fetch("config.json")).json();
    const response = await fetch(config.api_url, { headers: { [config.key_header]: config.api_key } });
    document.getElementById("status").textContent = response.ok ? "Ready" : "Error " + response.status;
  })();
</script></body></html>
"""


def console_conf(key: str) -> tuple[str, str]:
    """nginx serving two copies of the console: /cached/ lets browsers keep config.json for a day
    (`expires 1d`), /fresh/ makes them revalidate it (`no-cache`); /api/data accepts one key."""
    http = f"""
map $http_x_api_key $api_key_ok {{
    default 0;
    "{key}" 1;
}}
"""
    server = """
root html;
location = /cached/config.json { expires 1d; }
location = /fresh/config.json { add_header Cache-Control "no-cache"; }
location = /api/data {
    default_type application/json;
    if ($api_key_ok = 0) { return 401 '{"error": "invalid API key"}'; }
    return 200 '{"items": ["first", "second"]}';
}
"""
    return server, http


def write_console(folder: Path, key: str) -> None:
    """The console's files as the deploy writes them: the page and config.json with the current key."""
    config = {"api_url": "/api/data", "key_header": "X-API-Key", "api_key": key}
    for app in ("cached", "fresh"):
        (folder / "nginx" / "html" / app).mkdir(parents=True, exist_ok=True)
        (folder / "nginx" / "html" / app / "index.html").write_text(CONSOLE, encoding="utf-8")
        (folder / "nginx" / "html" / app / "config.json").write_text(json.dumps(config), encoding="utf-8")


def console_sites(origin: str) -> list[dict[str, object]]:
    """The user's config: no key at all, `flow = "visit"` on the app page, the API as protected URL."""
    return [
        {"name": f"console-{app}", "url": f"{origin}/{app}/", "protected_url": f"{origin}/api/data",
         "flow": "visit"}
        for app in ("cached", "fresh")
    ]  # fmt: skip


@pytest.fixture(scope="module")
def rotated_key(tmp_path_factory: pytest.TempPathFactory) -> Visits:
    """The first visit caches config.json; then the key is rotated (new config.json, new nginx key)."""
    folder = tmp_path_factory.mktemp("nginx-app-config")
    write_console(folder, "key-2026-11-old")
    with nginx_server(folder, *console_conf("key-2026-11-old")) as nginx:

        def rotate() -> None:
            write_console(folder, "key-2026-12-new")
            reconfigure_nginx(nginx, *console_conf("key-2026-12-new"))

        return visit_twice(nginx, console_sites(nginx.origin), folder, ENGINES, rotate)


def one_site(visits: Visits, name: str) -> Visits:
    """Both checks of `visits` seen through one of their sites."""
    return Visits(visits.server, visits.first.site(name), visits.returning.site(name))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("site", ["console-cached", "console-fresh"])
def test_first_visit_opens_the_console(rotated_key: Visits, site: str, engine: str) -> None:
    one_site(rotated_key, site).assert_first_visit_signed_in(engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_cached_app_config_with_a_rotated_key_is_stale_cache(rotated_key: Visits, engine: str) -> None:
    # Given config.json kept for a day by the returning browser, when the key is rotated on the server,
    # the page sends the old key from the cached copy and nginx refuses it; a fresh browser works.
    one_site(rotated_key, "console-cached").assert_returning(engine, "stale-cache")


@pytest.mark.parametrize("engine", ENGINES)
def test_revalidated_app_config_with_a_rotated_key_is_none(rotated_key: Visits, engine: str) -> None:
    one_site(rotated_key, "console-fresh").assert_returning(engine, "none")


# -- API keys checked by nginx (`map` on the key header, `return 401`) ----------------------------------

RETIRED_KEY_REPLACEMENT = "key-issued-after-revocation-51"


def api_key_conf() -> tuple[str, str]:
    """/v1/ accepts the user's key in `X-API-Key`; /v2/ and /v2c/ accept only the key that replaced it
    (the user's key was revoked), /v2c/ with a `WWW-Authenticate` challenge on its 401."""
    http = f"""
map $http_x_api_key $v1_key_ok {{
    default 0;
    "{PASSWORD}" 1;
}}
map $http_x_api_key $v2_key_ok {{
    default 0;
    "{RETIRED_KEY_REPLACEMENT}" 1;
}}
"""
    server = """
default_type application/json;
location = / {
    default_type text/html;
    return 200 "<!doctype html><title>Reports</title><h1>Reports</h1>";
}
location /v1/ {
    if ($v1_key_ok = 0) { return 401 '{"error": "invalid or missing API key"}'; }
    return 200 '{"items": ["first", "second"]}';
}
location /v2/ {
    if ($v2_key_ok = 0) { return 401; }
    return 200 '{"items": ["first", "second"]}';
}
location /v2c/ {
    add_header WWW-Authenticate 'ApiKey realm="reports", header="X-API-Key"' always;
    if ($v2_key_ok = 0) { return 401 '{"error": "invalid API key"}'; }
    return 200 '{"items": ["first", "second"]}';
}
"""
    return server, http


def api_key_sites(origin: str) -> list[dict[str, object]]:
    """The user's config for each case: the key from the environment, sent where they say."""

    def site(site_name: str, path: str, **token: str) -> dict[str, object]:
        return {
            "name": site_name, "url": f"{origin}/", "protected_url": f"{origin}{path}", "flow": "api-key",
            # The suite has one secret variable; here it holds the API key the user was issued.
            "credentials": {"api_key_env": PASSWORD_ENV}, "token": token,
        }  # fmt: skip

    return [
        site("key-control", "/v1/items", location="header", name="X-API-Key"),
        site("key-revoked", "/v2/items", location="header", name="X-API-Key"),
        site("key-revoked-challenge", "/v2c/items", location="header", name="X-API-Key"),
        site("key-wrong-header", "/v1/items", location="header", name="X-Api-Token"),
        site("key-in-query", "/v1/items", location="query", name="api_key"),
    ]


# -- nginx in front of the Django project: a cached 401, a canonical-host redirect, a stripped header ----


def basic_origin(folder: Path) -> str:
    """The body of an nginx server with /api/items.json behind `auth_basic` (alice); writes its files."""
    prefix = folder / "nginx"
    (prefix / "html" / "api").mkdir(parents=True)
    (prefix / "html" / "api" / "items.json").write_text('{"items": []}', encoding="utf-8")
    (prefix / "htpasswd").write_text(sha_htpasswd("alice", PASSWORD), encoding="utf-8")
    return f"""
root html;
location /api/ {{
    auth_basic "nginx api";
    auth_basic_user_file {prefix / "htpasswd"};
}}
"""


def cache_conf(basic_origin: str, bearer_origin: str) -> tuple[str, str]:
    """nginx `proxy_cache` with its default key (the URL alone, no credential) in front of a Basic origin
    (nginx `auth_basic`) and a bearer one (httpbin's /bearer). /hit/ caches 401s and says so
    (`X-Cache-Status`), /quiet/ and /bearer-quiet/ cache them silently, /ok/ and /bearer-ok/ cache
    only 200s (the controls)."""
    areas = [("hit", basic_origin, "200 401", True), ("quiet", basic_origin, "200 401", False),
             ("ok", basic_origin, "200", False), ("bearer-quiet", bearer_origin, "200 401", False),
             ("bearer-ok", bearer_origin, "200", False)]  # fmt: skip
    server = """
location = / {
    default_type text/html;
    return 200 "<!doctype html><title>Gateway</title><h1>Gateway</h1>";
}
"""
    # A cache per area: nginx's default key (scheme, upstream, path) would make the areas share entries.
    http = "\n".join(f"proxy_cache_path cache-{area} keys_zone={area}:1m;" for area, *_ in areas)
    for area, origin, statuses, says in areas:
        status_header = "\n    add_header X-Cache-Status $upstream_cache_status always;" if says else ""
        server += f"""
location /{area}/ {{
    proxy_pass {origin}/;
    proxy_cache {area};
    proxy_cache_valid {statuses} 10m;{status_header}
}}
"""
    return server, http


def cache_sites(origin: str) -> list[dict[str, object]]:
    """Basic logins to the cached API, and bearer calls from the gateway's page (token from the env)."""
    basic = [
        {"name": f"cached-401-{area}", "url": f"{origin}/{area}/api/items.json", "flow": "basic",
         "credentials": {"username": "alice", "password_env": PASSWORD_ENV}}
        for area in ("hit", "quiet", "ok")
    ]  # fmt: skip
    bearer = [
        {"name": f"cached-401-{area}", "url": f"{origin}/", "protected_url": f"{origin}/{area}/bearer",
         "flow": "bearer", "credentials": {"token_env": PASSWORD_ENV}}
        for area in ("bearer-quiet", "bearer-ok")
    ]  # fmt: skip
    return basic + bearer


def prime(url: str) -> int:
    """The request that came before the credential was fixed: no credentials, so a 401 (now cached)."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def edge_conf(app: str, faulty: bool) -> str:
    """nginx as the site's reverse proxy in front of Django. Faulty: /api/me/ on any host but the
    canonical `localhost` is redirected there (301), and /api/data/ loses the Authorization header."""
    upstream = f"proxy_pass {app};\n    proxy_set_header Host $http_host;"
    if not faulty:
        return f"location / {{\n    {upstream}\n}}"
    return f"""
location / {{
    {upstream}
}}
location /api/me/ {{
    if ($host != "localhost") {{ return 301 http://localhost:$server_port$request_uri; }}
    {upstream}
}}
location /api/data/ {{
    {upstream}
    proxy_set_header Authorization "";
}}
"""


def edge_sites(origin: str, kind: str) -> list[dict[str, object]]:
    """A session login whose protected page is /api/me/, and one whose app page's script calls the
    token API (`Authorization: Token ...`), both on 127.0.0.1 as the user bookmarked them."""
    credentials = {"username": "alice", "password_env": PASSWORD_ENV}
    return [
        {"name": f"host-{kind}", "url": f"{origin}/accounts/login/?next=/app/",
         "protected_url": f"{origin}/api/me/", "flow": "form", "credentials": credentials},
        {"name": f"header-{kind}", "url": f"{origin}/accounts/login/?next=/token-app/",
         "app_url": f"{origin}/token-app/", "protected_url": f"{origin}/api/data/", "flow": "form",
         "credentials": credentials},
    ]  # fmt: skip


def varnish_sites(origin: str, name: str) -> list[dict[str, object]]:
    """A Basic login to the API through Varnish (Debian)."""
    return [{"name": name, "url": f"{origin}/api/items.json", "flow": "basic",
             "credentials": {"username": "alice", "password_env": PASSWORD_ENV}}]  # fmt: skip


def session_sites(origin: str, name: str) -> list[dict[str, object]]:
    """Django's login form through Varnish, then its session-backed "who am I" as the protected URL."""
    return [{"name": name, "url": f"{origin}/accounts/login/?next=/app/",
             "protected_url": f"{origin}/api/me/", "flow": "form",
             "credentials": {"username": "alice", "password_env": PASSWORD_ENV}}]  # fmt: skip


# -- one check (fresh contexts: these fail the same way in any browser) for every case above ------------


@pytest.fixture(scope="module")
def fresh_check(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Checked:
    folder = tmp_path_factory.mktemp("nginx-fresh")
    subs = ("keys", "origin", "cache", "edge", "plain", "django")
    for sub in (*subs, "varnish-401", "varnish-pass", "varnish-session", "varnish-session-pass"):
        (folder / sub).mkdir()
    with (
        nginx_server(folder / "keys", *api_key_conf()) as keys,
        nginx_server(folder / "origin", basic_origin(folder / "origin")) as basic,
        httpbin(folder / "origin") as bearer_origin,
        nginx_server(folder / "cache", *cache_conf(basic.origin, bearer_origin)) as cache,
        varnish_server(folder / "varnish-401", "cache-401.vcl", basic) as varnish_401,
        varnish_server(folder / "varnish-pass", "pass.vcl", basic) as varnish_pass,
        django_server(folder / "django", django_db, secrets.token_urlsafe(40)) as session_app,
        varnish_server(folder / "varnish-session", "session-401.vcl", session_app) as varnish_session,
        varnish_server(folder / "varnish-session-pass", "pass.vcl", session_app) as varnish_session_pass,
        django_server(folder, django_db, secrets.token_urlsafe(40)) as app,
        nginx_server(folder / "edge", edge_conf(app.origin, faulty=True)) as edge,
        nginx_server(folder / "plain", edge_conf(app.origin, faulty=False)) as plain,
    ):
        cached = cache_sites(cache.origin)
        for site in cached:
            # Given the request that came before the credential was fixed (none sent): nginx keeps its
            # 401 where the area caches 401s
            assert prime(str(site.get("protected_url", site["url"]))) == 401
        session = [
            *session_sites(varnish_session.origin, "varnish-session-401"),
            *session_sites(varnish_session_pass.origin, "varnish-session-pass"),
        ]
        for site in session:
            # ... and an anonymous visitor's "who am I" before the user signs in
            assert prime(str(site["protected_url"])) == 401
        sites = [
            *api_key_sites(keys.origin), *cached,
            *edge_sites(edge.origin, "faulty"), *edge_sites(plain.origin, "control"),
            *varnish_sites(varnish_401.origin, "varnish-401"),
            *varnish_sites(varnish_pass.origin, "varnish-pass"), *session,
        ]  # fmt: skip
        config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
        return check(config, folder / "reports", ENGINES, ["fresh"], folder)


FRESH_CASES = [
    ("key-control", "none"),
    ("key-revoked", "invalid-api-key"),
    ("key-revoked-challenge", "invalid-api-key"),
    ("key-wrong-header", "invalid-api-key"),
    ("key-in-query", "invalid-api-key"),
    ("cached-401-hit", "stale-cache"),
    # No X-Cache-Status: nginx stamps a new Date and adds no Age on the 401 it replays; the cache probe
    # (the same credential under a query parameter no cache has stored) is what tells.
    ("cached-401-quiet", "stale-cache"),
    ("cached-401-bearer-quiet", "stale-cache"),
    ("cached-401-ok", "none"),
    ("cached-401-bearer-ok", "none"),
    ("host-faulty", "wrong-url"),
    ("host-control", "none"),
    ("header-faulty", "proxy-interference"),
    ("header-control", "none"),
    # Varnish hashing every GET by URL, Authorization or not, and keeping 401s (`beresp.ttl = 10m`): the
    # browser's own first, anonymous request of the Basic challenge stores the 401 it then replays.
    ("varnish-401", "stale-cache"),
    ("varnish-pass", "none"),
    # Varnish keeping the session API's 401 by URL (the app's Vary: Cookie dropped): an anonymous
    # visitor's 401 is served to the user who has just signed in.
    ("varnish-session-401", "stale-cache"),
    ("varnish-session-pass", "none"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("site", "cause"), FRESH_CASES)
def test_nginx_case(fresh_check: Checked, site: str, cause: str, engine: str) -> None:
    fresh_check.site(site).assert_primary(engine, cause)
