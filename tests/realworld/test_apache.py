"""Apache httpd (Debian apache2) configured into one failure per site, as its users configure it.

One server holds every area, one `loginprobe check` serves all of its sites (fresh runs in Chromium
and Firefox): mod_auth_basic and mod_auth_digest with a wrong and a right password, a flow that does
not match the server's scheme, `Require user` / `Require group` inside a `Require valid-user` realm
(authenticated but not allowed: Apache answers 401 with the same challenge, or 403 with
`AuthzSendForbiddenOnFailure`), a 401 without a challenge (`RewriteRule ... [R=401]`, and a reverse
proxy with `Header unset WWW-Authenticate` to keep browsers from prompting), a password file Apache
cannot open (500 after the credentials), mod_auth_form logins (a wrong password gets a 401 page, or
the stock form again without a word with `AuthFormLoginRequiredLocation`), one whose protected URL
redirects to another host (the session cookie stays behind), and a Basic URL that redirects to
another host. A second check goes through an Apache forward proxy (mod_proxy, `ProxyRequests On`)
that demands its own credentials for one origin, strips `Authorization` for another and passes the
third (the control).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.realworld.apache import access_log, apache_root, apache_server, htdigest, htpasswd, page
from tests.realworld.servers import PASSWORD, PASSWORD_ENV, Checked, check, free_port, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]
WRONG_ENV = "APACHE_WRONG_PASSWORD"
TOKEN_ENV = "APACHE_TOKEN"

LOGIN_PAGE = """<!doctype html><title>Sign in</title><h1>Sign in</h1>
<form method="post" action="/dologin.html">
<label>User <input type="text" name="httpd_username"></label>
<label>Password <input type="password" name="httpd_password"></label>
<input type="hidden" name="httpd_location" value="/members/">
<input type="submit" name="login" value="Sign in">
</form>"""


def auth_conf(root: Path, port: int) -> str:
    """The areas, written as Apache's documentation shows them."""
    form = f"""  AuthType form
  AuthName "members"
  AuthFormProvider file
  AuthUserFile {root}/users
  Session On
  SessionCookieName session path=/
"""
    return f"""<Location /staff/>
  AuthType Basic
  AuthName "staff"
  AuthUserFile {root}/users
  AuthGroupFile {root}/groups
  Require valid-user
</Location>
<Location /staff/admin/>
  Require user bob
</Location>
<Location /staff/board/>
  Require group admins
</Location>
<Location /staff/payroll/>
  AuthzSendForbiddenOnFailure On
  Require user bob
</Location>
<Location /intranet/>
  ProxyPass http://127.0.0.1:{port}/staff/
  Header unset WWW-Authenticate
</Location>
<Location /vault/>
  AuthType Digest
  AuthName "vault"
  AuthDigestProvider file
  AuthUserFile {root}/digest-users
  Require valid-user
</Location>
<Location /archive/>
  AuthType Basic
  AuthName "archive"
  AuthUserFile {root}/no-such-file
  Require valid-user
</Location>
<Location /dologin.html>
  SetHandler form-login-handler
{form}</Location>
<Location /members/>
{form}  Require valid-user
  ErrorDocument 401 /login.html
</Location>
<Location /clublogin.html>
  SetHandler form-login-handler
{form}  AuthFormLoginRequiredLocation http://127.0.0.1:{port}/club-login.html
</Location>
<Location /club/>
{form}  AuthFormLoginRequiredLocation http://127.0.0.1:{port}/club-login.html
  Require valid-user
</Location>
Redirect permanent /portal/ http://localhost:{port}/members/
Redirect permanent /old-staff/ http://localhost:{port}/staff/
RewriteEngine On
RewriteRule ^/reports/ - [R=401]
"""


def auth_sites(origin: str) -> list[dict[str, Any]]:
    """What a user writes after reading the README, one site per case."""
    right = {"username": "alice", "password_env": PASSWORD_ENV}
    wrong = {"username": "alice", "password_env": WRONG_ENV}
    login = {"url": f"{origin}/login.html", "flow": "form", "credentials": right}
    basic = {"flow": "basic", "credentials": right}
    club = {**login, "url": f"{origin}/club-login.html"}
    return [
        {"name": "basic-wrong", "url": f"{origin}/staff/", "flow": "basic", "credentials": wrong},
        {"name": "basic-right", "url": f"{origin}/staff/", "flow": "basic", "credentials": right},
        {"name": "digest-wrong", "url": f"{origin}/vault/", "flow": "digest", "credentials": wrong},
        {"name": "digest-right", "url": f"{origin}/vault/", "flow": "digest", "credentials": right},
        {"name": "basic-flow-digest-site", "url": f"{origin}/vault/", "flow": "basic", "credentials": right},
        {
            "name": "bearer-flow-basic-site",
            "url": f"{origin}/",
            "protected_url": f"{origin}/staff/",
            "flow": "bearer",
            "credentials": {"token_env": TOKEN_ENV},
        },
        {"name": "require-user", "url": f"{origin}/staff/admin/", "flow": "basic", "credentials": right},
        {"name": "require-group", "url": f"{origin}/staff/board/", "flow": "basic", "credentials": right},
        {"name": "require-user-403", "url": f"{origin}/staff/payroll/", **basic},
        {"name": "proxied-challenge-unset", "url": f"{origin}/intranet/", **basic},
        {"name": "rewrite-401", "url": f"{origin}/reports/", "flow": "basic", "credentials": right},
        {"name": "no-password-file", "url": f"{origin}/archive/", "flow": "basic", "credentials": right},
        {"name": "form-right", **login, "protected_url": f"{origin}/members/"},
        {"name": "form-wrong", **login, "protected_url": f"{origin}/members/", "credentials": wrong},
        {"name": "form-moved-host", **login, "protected_url": f"{origin}/portal/"},
        {"name": "form-redirect-right", **club, "protected_url": f"{origin}/club/"},
        {"name": "form-redirect-wrong", **club, "protected_url": f"{origin}/club/", "credentials": wrong},
        {"name": "basic-moved-host", "url": f"{origin}/old-staff/", "flow": "basic", "credentials": right},
    ]


@pytest.fixture(scope="module")
def auth_check(tmp_path_factory: pytest.TempPathFactory) -> Checked:
    folder = tmp_path_factory.mktemp("apache-auth")
    port = free_port()
    with apache_root() as root:
        htpasswd(root / "users", "alice", PASSWORD)
        htpasswd(root / "users", "bob", "bob-pass-2")
        (root / "groups").write_text("admins: bob\n", encoding="utf-8")
        htdigest(root / "digest-users", "vault", "alice", PASSWORD)
        (root / "htdocs" / "login.html").write_text(LOGIN_PAGE, encoding="utf-8")
        club_page = LOGIN_PAGE.replace("/dologin.html", "/clublogin.html").replace("/members/", "/club/")
        (root / "htdocs" / "club-login.html").write_text(club_page, encoding="utf-8")
        areas = ("/staff/admin/", "/staff/board/", "/staff/payroll/", "/vault/", "/archive/")
        for path in ("/", "/staff/", *areas, "/members/", "/club/"):
            page(root, path, path.strip("/") or "home")
        with apache_server(root, auth_conf(root, port), port=port) as server:
            config = write_config(folder / "loginprobe.toml", auth_sites(server.origin), folder / "profiles")
            env = {WRONG_ENV: "not-the-password-1", TOKEN_ENV: "apache-token-0123456789"}
            return check(config, folder / "out", ENGINES, ["fresh"], folder, env=env)


CASES = [
    ("basic-wrong", "invalid-credentials"),
    ("basic-right", "none"),
    ("bearer-flow-basic-site", "wrong-auth-scheme"),
    ("require-user", "insufficient-permissions"),
    ("require-group", "insufficient-permissions"),
    ("require-user-403", "insufficient-permissions"),
    ("proxied-challenge-unset", "server-misconfiguration"),
    ("rewrite-401", "server-misconfiguration"),
    ("no-password-file", "server-misconfiguration"),
    ("form-right", "none"),
    ("form-wrong", "invalid-credentials"),
    ("form-redirect-right", "none"),
    ("form-redirect-wrong", "invalid-credentials"),
    ("form-moved-host", "wrong-url"),
    ("basic-moved-host", "wrong-url"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("site", "cause"), CASES)
def test_apache_case(auth_check: Checked, site: str, cause: str, engine: str) -> None:
    auth_check.site(site).assert_primary(engine, cause)


def test_require_user_names_the_realm_that_accepted_the_password(auth_check: Checked) -> None:
    verdict = auth_check.site("require-user").verdict
    assert 'realm "staff"' in verdict["summary"] and "/staff/ (200)" in verdict["summary"], verdict["summary"]
    assert "wrong-url" not in verdict["contributing"]


def test_digest_wrong_password(auth_check: Checked) -> None:
    # Chromium answers Digest and is refused; Firefox over BiDi never answers Digest (an engine limit).
    checked = auth_check.site("digest-wrong")
    checked.assert_primary("chromium", "invalid-credentials")
    assert "firefox" in checked.verdict["engines_failing"], checked.explain()
    limit = [f for f in checked.verdict["findings"] if f["check"] == "engine_cannot_answer_challenge"]
    assert limit and limit[0]["engines"] == ["firefox"], checked.explain()


def test_digest_right_password_is_none_and_says_firefox_cannot_answer(auth_check: Checked) -> None:
    checked = auth_check.site("digest-right")
    checked.assert_primary("chromium", "none")
    assert checked.verdict["engines_failing"] == ["firefox"], checked.explain()
    assert "never answers Digest" in checked.verdict["summary"], checked.explain()


def test_basic_flow_on_a_digest_site(auth_check: Checked) -> None:
    # Chromium answers whatever scheme the server challenges (flow basic or digest alike) and signs
    # in; Firefox over BiDi answers Basic only: the verdict names the scheme the server asks for.
    checked = auth_check.site("basic-flow-digest-site")
    assert "chromium" in checked.verdict["engines_passing"], checked.explain()
    checked.assert_primary("firefox", "wrong-auth-scheme")


PROXY_USER_PASSWORD = "corp-pass-5"
ProxyCheck = tuple[Checked, list[str]]  # the check, and the proxy's access log


@pytest.fixture(scope="module")
def proxy_check(tmp_path_factory: pytest.TempPathFactory) -> ProxyCheck:
    """Three origins on one Apache, a forward proxy (another Apache) with a rule per origin."""
    folder = tmp_path_factory.mktemp("apache-proxy")
    asks, strips, plain = free_port(), free_port(), free_port()
    with apache_root() as origin_root, apache_root() as proxy_root:
        htpasswd(origin_root / "users", "alice", PASSWORD)
        htpasswd(proxy_root / "proxy-users", "corp-user", PROXY_USER_PASSWORD)
        page(origin_root, "/staff/", "staff")
        origin_conf = f"""Listen 127.0.0.1:{strips}
Listen 127.0.0.1:{plain}
<Location /staff/>
  AuthType Basic
  AuthName "staff"
  AuthUserFile {origin_root}/users
  Require valid-user
</Location>
"""
        proxy_conf = f"""ProxyRequests On
ProxyVia On
<Proxy "*">
  Require all granted
</Proxy>
<Proxy "http://127.0.0.1:{asks}/*">
  AuthType Basic
  AuthName "corp proxy"
  AuthUserFile {proxy_root}/proxy-users
  Require valid-user
</Proxy>
<Proxy "http://127.0.0.1:{strips}/*">
  RequestHeader unset Authorization
</Proxy>
"""
        right = {"username": "alice", "password_env": PASSWORD_ENV}
        named = (("proxy-asks-auth", asks), ("proxy-strips-auth", strips), ("proxy-plain", plain))
        sites = [
            {"name": name, "url": f"http://127.0.0.1:{port}/staff/", "flow": "basic", "credentials": right}
            for name, port in named
        ]
        with (
            apache_server(origin_root, origin_conf, port=asks),
            apache_server(proxy_root, proxy_conf) as proxy,
        ):
            config = write_config(folder / "loginprobe.toml", sites, folder / "profiles", proxy=proxy.origin)
            checked = check(config, folder / "out", ENGINES, ["fresh"], folder)
            return checked, access_log(proxy_root)


PROXY_CASES = [
    ("proxy-asks-auth", "proxy-interference"),
    ("proxy-strips-auth", "proxy-interference"),
    ("proxy-plain", "none"),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("site", "cause"), PROXY_CASES)
def test_apache_forward_proxy(proxy_check: ProxyCheck, site: str, cause: str, engine: str) -> None:
    checked, _ = proxy_check
    checked.site(site).assert_primary(engine, cause)


def test_proxied_runs_went_through_the_proxy(proxy_check: ProxyCheck) -> None:
    # Chromium and Firefox bypass proxies for loopback unless told otherwise: the proxy's own log
    # shows absolute-URI requests for every origin.
    checked, log = proxy_check
    proxied = [line for line in log if '"GET http://127.0.0.1:' in line]
    for site in ("proxy-asks-auth", "proxy-strips-auth", "proxy-plain"):
        url = checked.site(site).report["runs"][0]["expectations"]["protected_url"]
        assert sum(url in line for line in proxied) >= 2, log  # one per engine at least
    assert any(" 407 " in line for line in proxied), log
