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
from contextlib import ExitStack
from itertools import count
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
# The app moved under /app/ in the operator's head: every cookie's Path=/ rewritten to /app/.
NGINX_COOKIE_PATH = f"{NGINX_HOST}\n    proxy_cookie_path / /app/;"
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
    with ExitStack() as stack:
        serve = stack.enter_context  # every server stops when the check is done, however it ends
        (folder / "django").mkdir()
        app = serve(django_server(folder / "django", django_db, secrets.token_urlsafe(40)))
        bin_origin = serve(httpbin(folder))
        # httpbin is started by its own helper; Varnish needs only its address.
        bin_app = Service(name="httpbin", argv=[], ready_url=f"{bin_origin}/", log=folder / "httpbin.log")
        numbers = count()  # each Varnish and nginx gets a work folder of its own

        def varnish(vcl: str, backend: Service = app) -> str:
            sub = folder / f"varnish-{next(numbers)}"
            sub.mkdir()
            return serve(varnish_server(sub, vcl, backend)).origin

        def nginx(lines: str = NGINX_HOST) -> str:
            sub = folder / f"nginx-{next(numbers)}"
            sub.mkdir()
            return serve(nginx_server(sub, nginx_proxy(app.origin, lines))).origin

        def apache(lines: str = APACHE_HOST) -> str:
            return serve(apache_server(serve(apache_root()), apache_proxy(app.origin, lines))).origin

        varnish_pass = varnish("pass.vcl")
        sites = [
            session_site(varnish("strip-cookie.vcl"), "varnish-drops-cookie"),
            session_site(varnish("strip-every-cookie.vcl"), "varnish-drops-every-cookie"),
            session_site(varnish("strip-set-cookie.vcl"), "varnish-drops-set-cookie"),
            session_site(varnish_pass, "varnish-session-control"),
            token_site(varnish("strip-authorization.vcl"), "varnish-drops-token"),
            token_site(varnish_pass, "varnish-token-control"),
            bearer_site(varnish("strip-authorization.vcl", bin_app), "varnish-drops-bearer"),
            bearer_site(varnish("pass.vcl", bin_app), "varnish-bearer-control"),
            session_site(nginx(NGINX_HIDES_SET_COOKIE), "nginx-hides-set-cookie"),
            session_site(nginx(""), "nginx-default-host"),
            session_site(nginx(NGINX_MADE_UP_HOST), "nginx-made-up-host"),
            session_site(nginx(NGINX_COOKIE_PATH), "nginx-cookie-path"),
            session_site(nginx(), "nginx-session-control"),
            session_site(apache(APACHE_DROPS_COOKIE), "apache-drops-cookie"),
            session_site(apache(APACHE_DROPS_SET_COOKIE), "apache-drops-set-cookie"),
            session_site(apache("ProxyVia On"), "apache-backend-host"),
            session_site(apache(), "apache-session-control"),
        ]
        config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
        return check(config, folder / "reports", ENGINES, ["fresh"], folder)


CASES = [
    # `unset req.http.Cookie` outside /accounts/: the session just set is sent, Django sees none.
    ("varnish-drops-cookie", "proxy-interference"),
    # `unset req.http.Cookie` everywhere: Django says "requires a CSRF cookie" to the POST that sent it.
    ("varnish-drops-every-cookie", "proxy-interference"),
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
    # `proxy_cookie_path / /app/;`: the browser keeps the CSRF and session cookies for /app/ only, so
    # the form's POST to /accounts/login/ goes without them.
    ("nginx-cookie-path", "cookie-blocked"),
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
