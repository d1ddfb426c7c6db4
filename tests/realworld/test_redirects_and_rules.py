"""Redirects, access rules and cookies the browser refuses, on nginx, Apache and Django as users set them:
an http -> https redirect to a port where nothing speaks TLS, redirect loops after the login, an nginx
or Apache IP rule on the protected path (403, and 401 through `error_page`), a session cookie too large
to keep and a `__Host-` cookie that breaks the prefix's rules. Each failure has a control that must stay
`none`.

One check (fresh contexts, Chromium and Firefox) serves every site, to share the browser starts.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.realworld.apache import apache_root, apache_server
from tests.realworld.conftest import django_server, nginx_server
from tests.realworld.servers import PASSWORD_ENV, Checked, Service, check, free_port, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]
CREDENTIALS = {"username": "alice", "password_env": PASSWORD_ENV}


def proxy(app: Service) -> str:
    """The lines of an nginx location that hands the request to the Django app as it came."""
    return f"proxy_pass {app.origin};\n    proxy_set_header Host $http_host;"


def edge_conf(app: Service, kind: str) -> str:
    """nginx in front of the app, as the site's operator wrote it for `kind`."""
    upstream = proxy(app)
    if kind == "https-closed":
        # The classic http server block, pointed at the port TLS was meant to listen on (nothing does).
        return f"""
location = /healthz {{ return 204; }}
location / {{ return 301 https://$host:{free_port()}$request_uri; }}
"""
    if kind == "https-same-port":
        # https on the same port, where nginx speaks plain HTTP only (no `ssl` on the listen line).
        return """
location = /healthz { return 204; }
location / { return 301 https://$host:$server_port$request_uri; }
"""
    if kind == "slash-loop":
        # "No trailing slashes" for app and API URLs, in front of Django's APPEND_SLASH (the default),
        # which adds them back: the login page is untouched, everything after it loops.
        return f"""
location / {{
    {upstream}
}}
location ~ ^/(app|api)/ {{
    rewrite ^/(.*)/$ /$1 permanent;
    {upstream}
}}
"""
    if kind in ("ip-403", "ip-401"):
        # The API only from the office network; ip-401 answers the refusal as 401 with a page of its own.
        answer = "error_page 403 =401 /errors/401.html;" if kind == "ip-401" else ""
        return f"""
location / {{
    {upstream}
}}
location /errors/ {{ internal; root html; }}
location /api/ {{
    allow 10.0.0.0/8;
    deny all;
    {answer}
    {upstream}
}}
"""
    return f"location / {{\n    {upstream}\n}}"


def form_site(
    name: str, origin: str, landing: str = "/app/", protected: str = "/api/me/"
) -> dict[str, object]:
    """Django's login form, then the page the user wants, as the user bookmarked them."""
    return {
        "name": name,
        "url": f"{origin}/accounts/login/?next={landing}",
        "protected_url": f"{origin}{protected}",
        "flow": "form",
        "credentials": CREDENTIALS,
    }


# Django settings (environment of the test project) of each app server, by the site it serves.
APPS: dict[str, dict[str, str]] = {
    "edge": {},
    "perm": {"DJANGO_LOGIN_REDIRECTS_SIGNED_IN": "1"},
    "cookie-size": {
        "DJANGO_SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies",
        "DJANGO_RECENT_ITEMS": "200",
    },
    "cookie-size-control": {
        "DJANGO_SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies",
        "DJANGO_RECENT_ITEMS": "20",
    },
    "host-prefix-domain": {
        "DJANGO_SESSION_COOKIE_NAME": "__Host-sessionid",
        "DJANGO_SESSION_COOKIE_SECURE": "1",
        "DJANGO_SESSION_COOKIE_DOMAIN": "localhost",
    },
    "host-prefix-insecure": {"DJANGO_SESSION_COOKIE_NAME": "__Host-sessionid"},
    "host-prefix-path": {
        "DJANGO_SESSION_COOKIE_NAME": "__Host-sessionid",
        "DJANGO_SESSION_COOKIE_SECURE": "1",
        "DJANGO_SESSION_COOKIE_PATH": "/api/",
    },
    "secure-prefix-insecure": {"DJANGO_SESSION_COOKIE_NAME": "__Secure-sessionid"},
    # Behind nginx terminating TLS, SECURE_SSL_REDIRECT on (tls_conf says which proxy forwards the scheme).
    "tls-loop": {"DJANGO_SECURE_SSL_REDIRECT": "1"},
    "tls-control": {"DJANGO_SECURE_SSL_REDIRECT": "1"},
    "host-prefix-control": {
        "DJANGO_SESSION_COOKIE_NAME": "__Host-sessionid",
        "DJANGO_SESSION_COOKIE_SECURE": "1",
    },
}
EDGES = ("https-closed", "https-same-port", "slash-loop", "ip-403", "ip-401", "edge-control")


def apache_edge_conf(app: Service) -> str:
    """Apache httpd in front of the app: the staff API (the app's /api/) only from the office network
    (`Require ip`), the public API as it is."""
    return f"""
ProxyPreserveHost On
ProxyPass "/staff-api/" "{app.origin}/api/"
ProxyPass "/" "{app.origin}/"
<Location "/staff-api/">
    Require ip 10.0.0.0/8
</Location>
"""


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as `openssl req -x509` makes them for a test server."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def tls_conf(apps: dict[str, Service], ports: dict[str, int], cert: Path, key: Path) -> str:
    """nginx servers (http level) that terminate TLS for each app and hand it plain http. The control's
    says in X-Forwarded-Proto that the browser spoke https (nginx's reverse-proxy examples do); the
    loop's forgets it, so the app sees http and sends the browser to the https URL it came from."""
    forwarded = {name: "proxy_set_header X-Forwarded-Proto $scheme;" if name == "tls-control" else ""
                 for name in ports}  # fmt: skip
    return "".join(
        f"""
server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    location / {{
        {proxy(apps[name])}
        {forwarded[name]}
    }}
}}
"""
        for name, port in ports.items()
    )


def localhost(origin: str) -> str:
    """The same server by the name `localhost` (a secure context for cookies, and a Domain to name)."""
    return origin.replace("127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Iterator[Checked]:
    folder = tmp_path_factory.mktemp("redirects-rules")
    with ExitStack() as stack:
        apps: dict[str, Service] = {}
        for name, env in APPS.items():
            (folder / name).mkdir()
            # Every path but the health check redirects to https where SECURE_SSL_REDIRECT is on.
            ready = "/healthz" if "DJANGO_SECURE_SSL_REDIRECT" in env else "/accounts/login/"
            apps[name] = stack.enter_context(
                django_server(folder / name, django_db, secrets.token_urlsafe(40), ready, **env)
            )
        edges: dict[str, Service] = {}
        for kind in EDGES:
            (folder / kind / "nginx" / "html" / "errors").mkdir(parents=True)
            (folder / kind / "nginx" / "html" / "errors" / "401.html").write_text(
                "<!doctype html><title>Sign in</title><h1>Please sign in</h1>", encoding="utf-8"
            )
            ready = "/healthz" if kind.startswith("https") else "/"
            edges[kind] = stack.enter_context(
                nginx_server(folder / kind, edge_conf(apps["edge"], kind), ready_path=ready)
            )
        sites = [form_site(kind, edges[kind].origin) for kind in EDGES]
        apache = stack.enter_context(
            apache_server(stack.enter_context(apache_root()), apache_edge_conf(apps["edge"]))
        )
        sites += [
            form_site("apache-ip-403", apache.origin, protected="/staff-api/me/"),
            form_site("apache-control", apache.origin),
        ]
        sites += [
            form_site("perm-loop", apps["perm"].origin, landing="/reports/", protected="/reports/"),
            form_site("perm-control", apps["perm"].origin),
            form_site("cookie-size", apps["cookie-size"].origin),
            form_site("cookie-size-control", apps["cookie-size-control"].origin),
            form_site("host-prefix-domain", localhost(apps["host-prefix-domain"].origin)),
            form_site("host-prefix-insecure", localhost(apps["host-prefix-insecure"].origin)),
            form_site("host-prefix-path", localhost(apps["host-prefix-path"].origin)),
            form_site("secure-prefix-insecure", localhost(apps["secure-prefix-insecure"].origin)),
            form_site("host-prefix-control", localhost(apps["host-prefix-control"].origin)),
        ]
        tls_ports = {name: free_port() for name in ("tls-loop", "tls-control")}
        (folder / "tls").mkdir()
        cert, key = self_signed(folder / "tls")
        stack.enter_context(
            nginx_server(folder / "tls", "location / { return 204; }", tls_conf(apps, tls_ports, cert, key))
        )
        sites += [form_site(name, f"https://127.0.0.1:{port}") for name, port in tls_ports.items()]
        # The self-signed certificate of the TLS sites, as a user testing a staging server sets it;
        # it changes nothing for the plain-http sites.
        config = write_config(
            folder / "loginprobe.toml", sites, folder / "profiles", ignore_https_errors=True
        )
        yield check(config, folder / "reports", ENGINES, ["fresh"], folder)


CASES = [
    # `return 301 https://...` to a port where nothing listens, and to nginx's own plain-HTTP port.
    ("https-closed", "wrong-url"),
    ("https-same-port", "wrong-url"),
    # The site's own rules in a circle (nginx strips the slash Django adds back): nothing the user
    # configures can end it.
    ("slash-loop", "server-misconfiguration"),
    # Django's SECURE_SSL_REDIRECT behind a TLS proxy that does not pass the scheme: https -> the same
    # https URL, forever.
    ("tls-loop", "server-misconfiguration"),
    ("tls-control", "none"),
    # A view that sends a signed-in user it refuses to the login page, which sends them back: a refusal
    # in the shape of a loop, like express-openid-connect's claim check (test_oidc_failures.py).
    ("perm-loop", "insufficient-permissions"),
    ("perm-control", "none"),
    ("ip-403", "insufficient-permissions"),
    # `error_page 403 =401`: the session the login has just set is refused with a 401 without a
    # challenge, so the evidence shows a server refusing its own fresh session (RFC 9110 §15.5.2 makes a
    # 401 a request for credentials, and these were valid): the server's answer is what is wrong.
    ("ip-401", "server-misconfiguration"),
    ("edge-control", "none"),
    ("apache-ip-403", "insufficient-permissions"),
    ("apache-control", "none"),
    # Django's signed_cookies session with 200 item ids: over 4096 bytes, dropped by both browsers.
    ("cookie-size", "cookie-blocked"),
    ("cookie-size-control", "none"),
    ("host-prefix-insecure", "cookie-blocked"),
    ("host-prefix-path", "cookie-blocked"),
    ("secure-prefix-insecure", "cookie-blocked"),
    ("host-prefix-control", "none"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("site", "cause"), CASES)
def test_redirects_and_rules(checked: Checked, site: str, cause: str, engine: str) -> None:
    checked.site(site).assert_primary(engine, cause)


def test_host_prefix_with_a_domain_is_refused_by_chromium_and_kept_by_firefox(checked: Checked) -> None:
    # `__Host-sessionid` with Domain=localhost: Chromium refuses it (InvalidPrefix), Firefox treats a
    # Domain equal to a host without dots as a host-only cookie and keeps it, so Firefox signs in.
    site = checked.site("host-prefix-domain")
    site.assert_primary("chromium", "cookie-blocked")
    assert "InvalidPrefix" in site.verdict["summary"], site.explain()
    (firefox,) = site.runs("firefox", "fresh")
    assert firefox["outcome"]["success"], site.explain()
