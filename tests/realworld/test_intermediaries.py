"""Intermediaries that change what passes, configured as their users configure them, in front of the
Django project (gunicorn) and httpbin: Varnish (Debian) dropping the request's Cookie or Authorization
or the response's Set-Cookie; nginx hiding Set-Cookie, sending its default Host (`$proxy_host`, the
backend's address) or a made-up one; Apache (mod_proxy, mod_headers) dropping Cookie or Set-Cookie, or
sending the backend's address as Host (no `ProxyPreserveHost`).

Where the answers carry a hop (Varnish's `Via` and `X-Varnish`, Apache's `ProxyVia On`) the verdict names
the proxy (proxy-interference); where nothing in the answers shows one (nginx adds no `Via`, nor does
Apache by default) it is the site's setup (server-misconfiguration), with the proxy among the next steps.
One `loginprobe check` (fresh runs in Chromium and Firefox) serves every site; each kind of intermediary
has a control that passes everything and must stay `none`.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.faults.third_party import httpbin
from tests.realworld.apache import apache_root, apache_server
from tests.realworld.conftest import django_server, nginx_server, varnish_server
from tests.realworld.servers import PASSWORD_ENV, Checked, Service, check, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]
CREDENTIALS = {"username": "alice", "password_env": PASSWORD_ENV}
# A plain reverse proxy passes the browser's Host; what each faulty one changes is below.
NGINX_HOST = "proxy_set_header Host $http_host;"
APACHE_HOST = "ProxyPreserveHost On"
NGINX_HIDES_SET_COOKIE = f"{NGINX_HOST}\n    proxy_hide_header Set-Cookie;"
NGINX_MADE_UP_HOST = "proxy_set_header Host backend.internal;"
# Apache keeping the session cookie from the app's pages and API (mod_headers); no Via (its default).
APACHE_DROPS_COOKIE = f"""{APACHE_HOST}
<LocationMatch "^/(app|api)/">
    RequestHeader unset Cookie
</LocationMatch>"""
# Apache removing Set-Cookie from every answer, with `ProxyVia On`, so that its answers name it.
APACHE_DROPS_SET_COOKIE = f"{APACHE_HOST}\nProxyVia On\nHeader unset Set-Cookie"


def session_site(origin: str, name: str) -> dict[str, object]:
    """Django's login form, then its session-backed "who am I" as the protected URL."""
    return {"name": name, "url": f"{origin}/accounts/login/?next=/app/", "protected_url": f"{origin}/api/me/",
            "flow": "form", "credentials": CREDENTIALS}  # fmt: skip


def token_site(origin: str, name: str) -> dict[str, object]:
    """Django's login form, then the page whose script calls the DRF API with `Authorization: Token`."""
    return {"name": name, "url": f"{origin}/accounts/login/?next=/token-app/",
            "app_url": f"{origin}/token-app/", "protected_url": f"{origin}/api/data/", "flow": "form",
            "credentials": CREDENTIALS}  # fmt: skip


def bearer_site(origin: str, name: str) -> dict[str, object]:
    """A bearer API call (httpbin's /bearer), the token from the environment."""
    return {"name": name, "url": f"{origin}/", "protected_url": f"{origin}/bearer", "flow": "bearer",
            "credentials": {"token_env": PASSWORD_ENV}}  # fmt: skip


def nginx_proxy(app: str, lines: str = NGINX_HOST) -> str:
    """nginx as the site's reverse proxy in front of `app`, with the user's `proxy_*` lines."""
    return f"location / {{\n    proxy_pass {app};\n    {lines}\n}}"


def apache_proxy(app: str, lines: str = APACHE_HOST) -> str:
    """Apache (mod_proxy) as the site's reverse proxy in front of `app`, with the user's lines."""
    return f"ProxyPass / {app}/\nProxyPassReverse / {app}/\n{lines}\n"


@pytest.fixture(scope="module")
def intermediaries(tmp_path_factory: pytest.TempPathFactory, django_db: Path) -> Checked:
    folder = tmp_path_factory.mktemp("intermediaries")
    subs = ("django", "httpbin", "v-cookie", "v-set-cookie", "v-pass", "v-auth", "v-auth-bin", "v-pass-bin",
            "n-set-cookie", "n-default-host", "n-made-up-host", "n-plain")  # fmt: skip
    for sub in subs:
        (folder / sub).mkdir()
    with (
        django_server(folder / "django", django_db, secrets.token_urlsafe(40)) as app,
        httpbin(folder / "httpbin") as bin_origin,
        varnish_server(folder / "v-cookie", "strip-cookie.vcl", app) as v_cookie,
        varnish_server(folder / "v-set-cookie", "strip-set-cookie.vcl", app) as v_set_cookie,
        varnish_server(folder / "v-pass", "pass.vcl", app) as v_pass,
        varnish_server(folder / "v-auth", "strip-authorization.vcl", app) as v_auth,
        nginx_server(folder / "n-set-cookie", nginx_proxy(app.origin, NGINX_HIDES_SET_COOKIE)) as n_sc,
        nginx_server(folder / "n-default-host", nginx_proxy(app.origin, "")) as n_default_host,
        nginx_server(folder / "n-made-up-host", nginx_proxy(app.origin, NGINX_MADE_UP_HOST)) as n_made_up,
        nginx_server(folder / "n-plain", nginx_proxy(app.origin)) as n_plain,
        apache_root() as a_cookie_root,
        apache_root() as a_set_cookie_root,
        apache_root() as a_host_root,
        apache_root() as a_plain_root,
        apache_server(a_cookie_root, apache_proxy(app.origin, APACHE_DROPS_COOKIE)) as a_cookie,
        apache_server(a_set_cookie_root, apache_proxy(app.origin, APACHE_DROPS_SET_COOKIE)) as a_set_cookie,
        apache_server(a_host_root, apache_proxy(app.origin, "ProxyVia On")) as a_host,
        apache_server(a_plain_root, apache_proxy(app.origin)) as a_plain,
    ):  # fmt: skip
        # httpbin is started by its own helper; Varnish needs only its address.
        bin_service = Service(name="httpbin", argv=[], ready_url=f"{bin_origin}/", log=folder / "httpbin.log")
        with (
            varnish_server(folder / "v-auth-bin", "strip-authorization.vcl", bin_service) as v_auth_bin,
            varnish_server(folder / "v-pass-bin", "pass.vcl", bin_service) as v_pass_bin,
        ):
            sites = [
                session_site(v_cookie.origin, "varnish-drops-cookie"),
                session_site(v_set_cookie.origin, "varnish-drops-set-cookie"),
                session_site(v_pass.origin, "varnish-session-control"),
                token_site(v_auth.origin, "varnish-drops-token"),
                token_site(v_pass.origin, "varnish-token-control"),
                bearer_site(v_auth_bin.origin, "varnish-drops-bearer"),
                bearer_site(v_pass_bin.origin, "varnish-bearer-control"),
                session_site(n_sc.origin, "nginx-hides-set-cookie"),
                session_site(n_default_host.origin, "nginx-default-host"),
                session_site(n_made_up.origin, "nginx-made-up-host"),
                session_site(n_plain.origin, "nginx-session-control"),
                session_site(a_cookie.origin, "apache-drops-cookie"),
                session_site(a_set_cookie.origin, "apache-drops-set-cookie"),
                session_site(a_host.origin, "apache-backend-host"),
                session_site(a_plain.origin, "apache-session-control"),
            ]
            config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
            return check(config, folder / "reports", ENGINES, ["fresh"], folder)


CASES = [
    # `unset req.http.Cookie` outside /accounts/: the session just set is sent, Django sees none.
    ("varnish-drops-cookie", "proxy-interference"),
    # `unset beresp.http.Set-Cookie`: no CSRF cookie, Django refuses the form ("requires a CSRF cookie").
    ("varnish-drops-set-cookie", "proxy-interference"),
    ("varnish-session-control", "none"),
    # `unset req.http.Authorization`: DRF says "credentials were not provided" to the token sent.
    ("varnish-drops-token", "proxy-interference"),
    ("varnish-token-control", "none"),
    ("varnish-bearer-control", "none"),
    # `proxy_hide_header Set-Cookie`: the same refusal as Varnish's, with no hop in the answers.
    ("nginx-hides-set-cookie", "server-misconfiguration"),
    # No `proxy_set_header Host`: Django sees the backend's address, the browser's Origin differs, and
    # Django refuses its own form 403 "CSRF verification failed" (with the csrftoken cookie sent).
    ("nginx-default-host", "server-misconfiguration"),
    # `proxy_set_header Host backend.internal;`: Django's ALLOWED_HOSTS answers 400 to every page.
    ("nginx-made-up-host", "server-misconfiguration"),
    ("nginx-session-control", "none"),
    # `RequestHeader unset Cookie` on /app/ and /api/: like Varnish's, but no Via.
    ("apache-drops-cookie", "server-misconfiguration"),
    # `Header unset Set-Cookie` with `ProxyVia On`.
    ("apache-drops-set-cookie", "proxy-interference"),
    # No `ProxyPreserveHost On`, `ProxyVia On`: the form refused as forged, through a named hop.
    ("apache-backend-host", "proxy-interference"),
    ("apache-session-control", "none"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("site", "cause"), CASES)
def test_intermediary_case(intermediaries: Checked, site: str, cause: str, engine: str) -> None:
    intermediaries.site(site).assert_primary(engine, cause)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_bearer_token_dropped_by_varnish_is_refused_and_varnish_is_suspected(
    intermediaries: Checked, engine: str
) -> None:
    # Given Varnish `unset req.http.Authorization` in front of httpbin's /bearer, which answers a bare
    # `Bearer` challenge: the browser's side cannot tell "no token arrived" from "a token refused"
    # without an error code, so the refusal stays primary and the hop is a contributing suspicion.
    checked = intermediaries.site("varnish-drops-bearer")
    checked.assert_primary(engine, "invalid-credentials")
    suspected = [f for f in checked.verdict["findings"] if f["check"] == "bearer_unseen_behind_hop"]
    assert any(engine in f["engines"] and "Via: 1.1 varnish" in f["summary"] for f in suspected), (
        checked.explain()
    )
