"""Lab scenarios: a site configuration plus the lab's state before (seed) and during (probe) the
check. A scenario only sets the site up; what went wrong is for the checks to find from evidence.

`seed` switches are on while a returning browser's profile is first created by logging in (None: no
seeding needed); `probe` switches are on while the site is checked. `modes` names the modes in which
the login fails (empty for the controls).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from loginprobe.lab.server import Lab

SiteFn = Callable[[Lab], dict[str, Any]]

CAUSES = (
    "none",
    "missing-credentials",
    "invalid-credentials",
    "expired-token",
    "wrong-auth-scheme",
    "invalid-api-key",
    "insufficient-permissions",
    "stale-cache",
    "stale-cookie",
    "cookie-blocked",
    "wrong-url",
    "proxy-interference",
    "server-misconfiguration",
)
BOTH = ("fresh", "persisted")
RETURNING = ("persisted",)


@dataclass(frozen=True)
class Scenario:
    name: str
    cause: str
    description: str
    site: SiteFn
    seed: dict[str, Any] | None = None
    probe: dict[str, Any] = field(default_factory=dict)
    modes: tuple[str, ...] = BOTH
    use_proxy: bool = False


# -- site shapes (keyword arguments for loginprobe.config.settings.Site) ---------------------------


def _password(lab: Lab) -> dict[str, str]:
    return {"username": lab.username, "password": lab.password}


def form(path: str = "/login", protected: str = "/account", base: str | None = None) -> SiteFn:
    def site(lab: Lab) -> dict[str, Any]:
        root = base or lab.app_url
        return {
            "url": root + path,
            "protected_url": root + protected,
            "flow": "form",
            "credentials": _password(lab),
        }

    return site


def intermediary_form(lab: Lab) -> dict[str, Any]:
    return form(base=lab.cache_url)(lab)


def http_auth(kind: str, path: str, with_credentials: bool = True) -> SiteFn:
    def site(lab: Lab) -> dict[str, Any]:
        credentials = _password(lab) if with_credentials else {}
        return {"url": lab.app_url + path, "flow": kind, "credentials": credentials}

    return site


def bearer(ttl_s: int = 3600, roles: tuple[str, ...] = ("user",)) -> SiteFn:
    def site(lab: Lab) -> dict[str, Any]:
        return {
            "url": lab.app_url + "/app",
            "protected_url": lab.app_url + "/api/me",
            "flow": "bearer",
            "credentials": {"token": lab.mint_jwt(ttl_s=ttl_s, roles=list(roles))},
            "token": {"location": "header", "name": "Authorization"},
        }

    return site


def api_key(lab: Lab) -> dict[str, Any]:
    return {
        "url": lab.app_url + "/app",
        "protected_url": lab.app_url + "/apikey/data",
        "flow": "api-key",
        "credentials": {"api_key": lab.api_key},
        "token": {"location": "header", "name": "X-API-Key"},
    }


def spa(lab: Lab) -> dict[str, Any]:
    return form("/spa/login", "/api/me")(lab)


def oidc(lab: Lab) -> dict[str, Any]:
    return {
        "url": lab.app_url + "/oidc/start",
        "protected_url": lab.app_url + "/account",
        "flow": "oidc",
        "credentials": _password(lab),
        "issuer": lab.idp_url,
    }


def service_worker(lab: Lab) -> dict[str, Any]:
    return form("/sw-app/login", "/sw-app/data")(lab)


# -- the scenarios ---------------------------------------------------------------------------------

_ALL = [
    # Controls: healthy logins of every kind.
    Scenario("control-form", "none", "A form login on a healthy site.", form(), modes=()),
    Scenario(
        "control-form-two-step",
        "none",
        "A username-first, two-step form login on a healthy site.",
        form("/login2"),
        modes=(),
    ),
    Scenario(
        "control-basic",
        "none",
        "HTTP Basic with the right username and password.",
        http_auth("basic", "/basic/"),
        modes=(),
    ),
    Scenario(
        "control-digest",
        "none",
        "HTTP Digest (MD5, qop=auth) with the right username and password.",
        http_auth("digest", "/digest/"),
        modes=(),
    ),
    Scenario(
        "control-bearer",
        "none",
        "A valid bearer JWT sent to the API from a page of the app.",
        bearer(),
        modes=(),
    ),
    Scenario(
        "control-api-key", "none", "A valid API key sent in the header the API expects.", api_key, modes=()
    ),
    Scenario(
        "control-oidc",
        "none",
        "An OpenID Connect sign-in at an identity provider on another site.",
        oidc,
        modes=(),
    ),
    Scenario(
        "control-spa", "none", "A single-page app that keeps its JWT in localStorage.", spa, seed={}, modes=()
    ),
    Scenario(
        "control-service-worker",
        "none",
        "An area whose service worker caches nothing.",
        service_worker,
        seed={},
        modes=(),
    ),
    # Stale cache.
    # Measured in Chromium and Firefox: a 401 is never served from the HTTP cache (even with
    # max-age=3600), and the login POST's 303 invalidates its Location (RFC 9111 §4.4). What a browser
    # does keep is a permanent redirect without expiry; the login here lands on the home page, so the
    # stale 301 of /account is still there when /account is opened afterwards.
    Scenario(
        "stale-cache-http",
        "stale-cache",
        "A returning browser follows, from its HTTP cache, the permanent redirect of /account to "
        "http://localhost that the site sent before, and arrives there without its session cookie.",
        form("/login?next=/"),
        seed={"canonical_host_redirect": True},
        modes=RETURNING,
    ),
    Scenario(
        "stale-cache-service-worker",
        "stale-cache",
        "A cache-first service worker stored the 401 of /sw-app/data and serves it after a good sign-in.",
        service_worker,
        seed={"password_rotated": True, "sw_cache_first": True},
        probe={"sw_cache_first": True},
        modes=RETURNING,
    ),
    Scenario(
        "stale-cache-intermediary",
        "stale-cache",
        "A shared cache in front of the site keys by URL alone and serves one visitor's cached 401 of "
        "/account to everyone.",
        intermediary_form,
        seed={
            "password_rotated": True,
            "account_cache_control": "public, s-maxage=3600",
            "cache_ignore_vary": True,
        },
        probe={"account_cache_control": "public, s-maxage=3600", "cache_ignore_vary": True},
    ),
    # Stale cookies.
    Scenario(
        "stale-cookie-session-lost",
        "stale-cookie",
        "The server forgot every session, and its login page still sends anyone holding a session cookie "
        "straight to /account.",
        form(),
        seed={},
        probe={"sessions_dropped": True, "login_redirect_if_cookie": True},
        modes=RETURNING,
    ),
    Scenario(
        "stale-cookie-shadowed",
        "stale-cookie",
        "An old session cookie on Path=/account, signed with a rotated key, is sent before the fresh one "
        "on Path=/ and the server reads only the first.",
        form(),
        seed={"session_cookie_path": "/account"},
        probe={"session_secret_rotated": True},
        modes=RETURNING,
    ),
    # Credentials.
    Scenario(
        "missing-credentials",
        "missing-credentials",
        "The Basic area is probed with no username or password configured.",
        http_auth("basic", "/basic/", with_credentials=False),
    ),
    Scenario(
        "invalid-credentials",
        "invalid-credentials",
        "The password was changed on the server; the configured one is refused.",
        form(),
        probe={"password_rotated": True},
    ),
    Scenario(
        "expired-token",
        "expired-token",
        "The configured bearer JWT expired five minutes ago.",
        bearer(ttl_s=-300),
    ),
    Scenario(
        "expired-token-spa",
        "expired-token",
        "A returning single-page app reuses the JWT in its localStorage after the server clock moved past "
        "its expiry.",
        spa,
        seed={},
        probe={"clock_offset_s": 3600},
        modes=RETURNING,
    ),
    Scenario(
        "wrong-auth-scheme",
        "wrong-auth-scheme",
        "The Basic area was moved behind bearer tokens: it challenges Bearer and refuses Basic.",
        http_auth("basic", "/basic/"),
        probe={"basic_requires_bearer": True},
    ),
    Scenario(
        "invalid-api-key-revoked",
        "invalid-api-key",
        "The configured API key was revoked.",
        api_key,
        probe={"api_key_revoked": True},
    ),
    Scenario(
        "invalid-api-key-wrong-place",
        "invalid-api-key",
        "The API now reads the key from the query string; the client sends it in a header.",
        api_key,
        probe={"api_key_location": "query"},
    ),
    Scenario(
        "insufficient-permissions",
        "insufficient-permissions",
        "The API now requires the admin role, which the token lacks, and says 403.",
        bearer(),
        probe={"require_role": "admin", "insufficient_status": 403},
    ),
    Scenario(
        "insufficient-permissions-401",
        "insufficient-permissions",
        "The API requires the admin role, which the token lacks, and says 401 where 403 belongs.",
        bearer(),
        probe={"require_role": "admin", "insufficient_status": 401},
    ),
    # Cookies the browser refuses to store or send.
    Scenario(
        "cookie-blocked-domain",
        "cookie-blocked",
        "The session cookie names a Domain the site is not on, so the browser drops it.",
        form(),
        probe={"session_cookie_domain": "lab.example"},
    ),
    Scenario(
        "cookie-blocked-samesite-oidc",
        "cookie-blocked",
        "The OIDC callback sets a SameSite=Strict session cookie, which the browser withholds on the "
        "redirect to /account that a cross-site chain started.",
        oidc,
        probe={"session_cookie_samesite": "Strict"},
    ),
    # URL, proxy, server.
    Scenario(
        "wrong-url-canonical-host",
        "wrong-url",
        "Protected pages redirect to the same path on http://localhost, another origin without the "
        "session cookie.",
        form(),
        probe={"canonical_host_redirect": True},
    ),
    Scenario(
        "proxy-strips-authorization",
        "proxy-interference",
        "A proxy on the way removes the Authorization header from every request.",
        bearer(),
        probe={"proxy_mode": "strip-authorization"},
        use_proxy=True,
    ),
    Scenario(
        "proxy-requires-auth",
        "proxy-interference",
        "The proxy on the way demands its own credentials (407) before passing anything on.",
        bearer(),
        probe={"proxy_mode": "require-auth"},
        use_proxy=True,
    ),
    Scenario(
        "server-misconfiguration-no-challenge",
        "server-misconfiguration",
        "The Basic area answers 401 without any WWW-Authenticate challenge, even to good credentials.",
        http_auth("basic", "/basic/"),
        probe={"basic_no_challenge": True},
    ),
    Scenario(
        "server-misconfiguration-flapping",
        "server-misconfiguration",
        "One node of the cluster refuses valid sessions: every other request to /account gets 401.",
        form(),
        probe={"flapping": True},
    ),
]

SCENARIOS: dict[str, Scenario] = {s.name: s for s in _ALL}
assert len(SCENARIOS) == len(_ALL), "scenario names must be unique"
