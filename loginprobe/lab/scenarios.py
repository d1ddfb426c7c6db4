"""Lab scenarios: a site configuration plus the lab's state before (seed) and during (probe) the
check. A scenario only sets the site up; what went wrong is for the checks to find from evidence.

`seed` switches are on while a returning browser's profile is first created by logging in (None: no
seeding needed); `probe` switches are on while the site is checked. `modes` names the modes in which
the login fails (empty for the controls).

Sites are configured as a user would configure their own: the login page (`url`), the resource that
decides success (`protected_url`), and for apps whose scripts make that request the app page
(`app_url`), or for apps that need no login at all `flow = "visit"` with the page a user opens
(`start_url`). A persisted run is a returning visit: it opens `start_url`, else `app_url`, else the
protected URL with the profile's state and signs in only if the site asks; so the lab behaves as real
frameworks do (login pages show the form to signed-in users, pages show an API's refusal instead of
signing anyone in by themselves).

Over 400 lines: it is the scenario catalogue (data), one entry per lab scenario.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_args

from loginprobe.lab.server import Lab
from loginprobe.verdict import CauseId

SiteFn = Callable[[Lab], dict[str, Any]]

# Every cause the lab builds a scenario for: the vocabulary of loginprobe.verdict, bar "unknown".
CAUSES = tuple(cause for cause in get_args(CauseId) if cause != "unknown")
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
    """A single-page app: signs in at /spa/login, and its page /spa/ calls /api/me with the JWT it keeps
    in localStorage."""
    return {**form("/spa/login", "/api/me")(lab), "app_url": lab.app_url + "/spa/"}


def dashboard(lab: Lab) -> dict[str, Any]:
    """A dashboard whose script calls a cookie-session JSON API (a Flask or Django app)."""
    return {**form("/login?next=/dashboard", "/api/session")(lab), "app_url": lab.app_url + "/dashboard"}


def portal(through_cache: bool) -> SiteFn:
    """A portal page that fetches a token document with the session cookie and calls /api/me with the
    token in it; optionally through the shared cache in front of the app."""

    def site(lab: Lab) -> dict[str, Any]:
        root = lab.cache_url if through_cache else lab.app_url
        return {**form("/login?next=/portal/", "/api/me", base=root)(lab), "app_url": root + "/portal/"}

    return site


def relying_party(lab: Lab) -> dict[str, Any]:
    """An OpenID Connect relying party: signs in at the identity provider, and its page /rp/ calls an
    API that needs the access token the relying party keeps in its session."""
    return {
        "url": lab.app_url + "/oidc/start?next=/rp/",
        "protected_url": lab.app_url + "/rp/api/profile",
        "app_url": lab.app_url + "/rp/",
        "flow": "oidc",
        "credentials": _password(lab),
        "issuer": lab.idp_url,
    }


def console(lab: Lab) -> dict[str, Any]:
    """An app that gets its API key from its own config.json: the user configures no key, only the
    page to open (`flow = "visit"`)."""
    return {
        "url": lab.app_url + "/console/",
        "start_url": lab.app_url + "/console/",
        "protected_url": lab.app_url + "/apikey/data",
        "flow": "visit",
    }


def oidc(lab: Lab) -> dict[str, Any]:
    return {
        "url": lab.app_url + "/oidc/start",
        "protected_url": lab.app_url + "/account",
        "flow": "oidc",
        "credentials": _password(lab),
        "issuer": lab.idp_url,
    }


def service_worker(lab: Lab) -> dict[str, Any]:
    """The offline-ready area: signs in at /sw-app/login; its page /sw-app/ fetches /sw-app/data."""
    return {**form("/sw-app/login", "/sw-app/data")(lab), "app_url": lab.app_url + "/sw-app/"}


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
        "An OpenID Connect relying party signed in at an identity provider on another site; a returning "
        "browser's relying-party session and access token are still valid.",
        relying_party,
        seed={},
        modes=(),
    ),
    Scenario(
        "control-spa", "none", "A single-page app that keeps its JWT in localStorage.", spa, seed={}, modes=()
    ),
    Scenario(
        "control-dashboard",
        "none",
        "A dashboard whose script calls a cookie-session API; a returning browser's session is still valid.",
        dashboard,
        seed={},
        modes=(),
    ),
    Scenario(
        "control-shared-cache-token",
        "none",
        "A portal's token document is kept by a shared cache keyed on the Cookie header (Age, X-Cache on "
        "a no-store document), and the token in it is still valid.",
        portal(through_cache=True),
        seed={"shared_cache_cookie_ttl_s": 3600},
        probe={"shared_cache_cookie_ttl_s": 3600},
        modes=(),
    ),
    Scenario(
        "control-app-config",
        "none",
        "An app reads its API key from a config.json the browser caches for a day, and the key is still "
        "valid.",
        console,
        seed={"app_config_cache_control": "max-age=86400"},
        probe={"app_config_cache_control": "max-age=86400"},
        modes=(),
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
    Scenario(
        "stale-cache-shared-token",
        "stale-cache",
        "A shared cache keyed on the Cookie header keeps the portal's no-store token document and serves "
        "a returning browser the token that has since been revoked.",
        portal(through_cache=True),
        seed={"shared_cache_cookie_ttl_s": 3600},
        probe={"shared_cache_cookie_ttl_s": 3600, "tokens_revoked": True},
        modes=RETURNING,
    ),
    Scenario(
        "stale-cache-browser-token",
        "stale-cache",
        "The portal's token document is marked private, max-age=3600; a returning browser's HTTP cache "
        "still holds it and its token, which has since been revoked.",
        portal(through_cache=False),
        seed={"token_document_cache_control": "private, max-age=3600"},
        probe={"token_document_cache_control": "private, max-age=3600", "tokens_revoked": True},
        modes=RETURNING,
    ),
    Scenario(
        "stale-cache-app-config",
        "stale-cache",
        "The API key was rotated; a returning browser's HTTP cache still holds the app's config.json "
        "(max-age=86400) with the old key, which the API refuses as revoked.",
        console,
        seed={"app_config_cache_control": "max-age=86400"},
        probe={"app_config_cache_control": "max-age=86400", "api_key_rotated": True},
        modes=RETURNING,
    ),
    # Stale cookies.
    Scenario(
        "stale-cookie-rotated-key",
        "stale-cookie",
        "The server rotated the key that signs its session cookies (a new SECRET_KEY): a returning "
        "browser's cookie no longer verifies, and the dashboard's API refuses it.",
        dashboard,
        seed={},
        probe={"session_secret_rotated": True},
        modes=RETURNING,
    ),
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
        "invalid-credentials-no-challenge",
        "invalid-credentials",
        "A wrong password on a cookie-session site whose protected page answers 401 without any "
        "WWW-Authenticate, as such apps commonly do (not a misconfiguration).",
        form(),
        probe={"password_rotated": True, "account_no_challenge": True},
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
        "expired-token-oidc-session",
        "expired-token",
        "An hour later the relying party's session lives on, and the identity provider's too, but the "
        "access token kept in it has expired: its API answers 401 naming the expiry.",
        relying_party,
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
