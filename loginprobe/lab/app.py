"""The lab's web application: form, two-step, JWT API + SPA, Basic, Digest, API key, OpenID Connect
client and a service-worker area. Every response carries the server clock's `Date`.

Over 400 lines: one WSGI application serves every lab login flow on one origin, so scenarios can
combine them; each flow is its own section.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from importlib import resources
from typing import TYPE_CHECKING, Any

import jwt
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from loginprobe.lab.returning import RULES as RETURNING_RULES
from loginprobe.lab.returning import ReturningApps, behind_cookie
from loginprobe.lab.state import API_AUDIENCE, SESSION_COOKIE, SESSION_LIFETIME_S, LabState
from loginprobe.lab.wsgi import COOKIE_CHALLENGE, challenge, esc, json_response, login_form, page, safe_next

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

BASIC_REALM = "lab-basic"
DIGEST_REALM = "lab-digest"
NONCE_LIFETIME_S = 300
OIDC_TX_COOKIE = "oidc_tx"

URLS = Map(
    [
        Rule("/", endpoint="index"),
        Rule("/app", endpoint="app_page"),
        Rule("/login", endpoint="login", methods=["GET", "POST"]),
        Rule("/login2", endpoint="login2", methods=["GET", "POST"]),
        Rule("/account", endpoint="account"),
        Rule("/logout", endpoint="logout"),
        Rule("/api/login", endpoint="api_login", methods=["POST"]),
        Rule("/api/me", endpoint="api_me"),
        Rule("/spa/login", endpoint="spa_login"),
        Rule("/spa/", endpoint="spa_home"),
        Rule("/basic/", endpoint="basic"),
        Rule("/digest/", endpoint="digest"),
        Rule("/apikey/data", endpoint="apikey_data"),
        Rule("/oidc/start", endpoint="oidc_start"),
        Rule("/oidc/callback", endpoint="oidc_callback"),
        Rule("/sw-app/", endpoint="sw_home"),
        Rule("/sw-app/login", endpoint="sw_login"),
        Rule("/sw-app/sw.js", endpoint="sw_script"),
        Rule("/sw-app/data", endpoint="sw_data"),
        *RETURNING_RULES,
    ]
)

INDEX = """<ul>
<li><a href="/login">Sign in (form)</a> · <a href="/login2">two-step sign-in</a>
 · <a href="/account">account</a> · <a href="/logout">sign out</a></li>
<li><a href="/spa/login">Single-page app</a> (JWT in localStorage, API at /api/me)</li>
<li><a href="/oidc/start">Sign in with the identity provider</a> (OpenID Connect)</li>
<li><a href="/basic/">HTTP Basic area</a> · <a href="/digest/">HTTP Digest area</a></li>
<li><a href="/app">App page</a> (calls the API with fetch) · <a href="/apikey/data">API key data</a></li>
<li><a href="/sw-app/login">Offline-ready area</a> (service worker)</li>
<li>Apps a returning user opens: <a href="/dashboard">dashboard</a> · <a href="/portal/">portal</a>
 (token document) · <a href="/rp/">relying party</a> (OpenID Connect) · <a href="/console/">console</a>
 (API key from its config)</li>
</ul>"""

SPA_LOGIN = """<p id="stored" hidden><a href="/spa/">Continue to the app</a> with your stored sign-in, or
sign in again below.</p>
<form id="login">
<label>Username <input type="text" name="username" autocomplete="username"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>
<p id="status" role="status"></p>
<script>
// Like most login pages, this one shows the form to a user who is signed in already (a returning user
// opens the app itself, /spa/, which reads the stored token): signing in again replaces the token.
if (localStorage.getItem("access_token")) {
  document.getElementById("stored").hidden = false;
}
document.getElementById("login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const response = await fetch("/api/login", {
    method: "POST",
    headers: {"Content-Type": "application/json"},
    body: JSON.stringify({username: form.get("username"), password: form.get("password")}),
  });
  if (!response.ok) {
    document.getElementById("status").textContent = "Sign-in failed (" + response.status + ")";
    return;
  }
  const body = await response.json();
  localStorage.setItem("access_token", body.access_token);
  location.assign("/spa/");
});
</script>"""

SPA_HOME = """<p id="me" role="status">Loading…</p>
<script>
(async () => {
  const token = localStorage.getItem("access_token");
  if (!token) {
    location.replace("/spa/login");
    return;
  }
  const response = await fetch("/api/me", {headers: {"Authorization": "Bearer " + token}});
  const shown = document.getElementById("me");
  if (response.ok) {
    const me = await response.json();
    shown.textContent = "Signed in as " + me.sub;
  } else {
    // As many SPAs do, it shows the API's refusal and a link to sign in, not the form itself.
    shown.innerHTML = "The API refused the stored token (" + response.status + "). "
      + "<a href='/spa/login'>Sign in again</a>";
  }
})();
</script>"""

SW_REGISTER = """<script>
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw-app/sw.js", {scope: "/sw-app/"});
}
</script>"""

SW_HOME = """<p id="data" role="status">Loading…</p>
<script>
(async () => {
  const response = await fetch("/sw-app/data", {credentials: "same-origin"});
  const shown = document.getElementById("data");
  if (response.ok) {
    const data = await response.json();
    shown.textContent = "Signed in as " + data.user + ": " + data.items.join(", ");
  } else {
    shown.textContent = "Not signed in (" + response.status + ") — <a href='/sw-app/login'>sign in</a>";
  }
})();
</script>"""


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class LabApp:
    """The WSGI application of the lab site."""

    def __init__(self, lab: LabState) -> None:
        self.lab = lab
        self._nonces: dict[str, float] = {}  # Digest nonce -> issued at (server clock)
        self._opaque = secrets.token_hex(8)
        self.returning = ReturningApps(lab)
        self._oidc_transactions: dict[str, tuple[str, str]] = {}  # state -> (nonce, where to go next)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        adapter = URLS.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
            owner = self if hasattr(self, f"on_{endpoint}") else self.returning
            handler: Callable[..., Response] = getattr(owner, f"on_{endpoint}")
            response = handler(request, **args)
        except HTTPException as exc:
            response = exc.get_response(request.environ)
        response.headers["Date"] = http_date(self.lab.now())
        return response

    # -- helpers ---------------------------------------------------------------------------------

    def _protected(
        self, response: Response, *, flapped: bool = False, cache_control: str = "no-store"
    ) -> Response:
        response.headers["Cache-Control"] = cache_control
        # Which node of the (pretend) cluster answered; with `flapping`, node 2 is the broken one.
        response.headers["X-Served-By"] = "lab-node-2" if flapped else "lab-node-1"
        return response

    def _canonical_redirect(self, request: Request) -> Response | None:
        """`canonical_host_redirect`: protected pages move to http://localhost:<app port>, another
        origin than 127.0.0.1, where the host-only session cookie is not sent."""
        if not self.lab.switches.canonical_host_redirect:
            return None
        canonical = f"localhost:{self.lab.app_port}"
        if request.host == canonical:
            return None
        location = f"http://{canonical}{request.full_path.rstrip('?')}"
        response = page(
            "Moved permanently",
            f"<p>This page lives at <a href='{esc(location)}'>{esc(location)}</a>.</p>",
            status=301,
        )
        response.headers["Location"] = location
        return response

    def _set_session(self, response: Response, username: str, access_token_exp: float | None = None) -> None:
        switches = self.lab.switches
        response.set_cookie(
            SESSION_COOKIE,
            self.lab.new_session(username, access_token_exp),
            max_age=SESSION_LIFETIME_S,
            path=switches.session_cookie_path,
            domain=switches.session_cookie_domain,
            secure=switches.session_cookie_secure,
            httponly=True,
            samesite=switches.session_cookie_samesite,
        )

    def _session_user(self, request: Request) -> str | None:
        # With two `session` cookies (two paths), the browser sends the longer path first
        # (RFC 6265 §5.4) and, like most frameworks, the lab reads the first.
        return self.lab.session_user(request.cookies.get(SESSION_COOKIE))

    # -- pages -----------------------------------------------------------------------------------

    def on_index(self, request: Request) -> Response:
        return page("Lab", INDEX)

    def on_app_page(self, request: Request) -> Response:
        return page("Lab app", "<p>A page of the app. Its scripts call the API with fetch().</p>")

    def on_login(self, request: Request) -> Response:
        next_url = safe_next(request.values.get("next"))
        if request.method == "GET":
            if self.lab.switches.login_redirect_if_cookie and SESSION_COOKIE in request.cookies:
                # The "already signed in" shortcut: trusts the cookie's presence, not its validity.
                response = page("Already signed in", "<p><a href='/account'>Continue</a></p>", status=302)
                response.headers["Location"] = "/account"
                return response
            return page("Sign in", login_form("/login", hidden={"next": next_url}))
        username = request.form.get("username")
        if self.lab.check_password(username, request.form.get("password")):
            response = page("Signed in", f"<p><a href='{esc(next_url)}'>Continue</a></p>", status=303)
            response.headers["Location"] = next_url
            self._set_session(response, username or "")
            return response
        body = login_form("/login", hidden={"next": next_url}, message="The username or password is wrong.")
        response = page("Sign in", body, status=401)
        response.headers["WWW-Authenticate"] = COOKIE_CHALLENGE
        response.headers["Cache-Control"] = "no-store"
        return response

    def on_login2(self, request: Request) -> Response:
        if request.method == "GET":
            form = (
                "<form method='post' action='/login2'>"
                "<label>Username <input type='text' name='username' autocomplete='username'></label>"
                "<button type='submit'>Next</button></form>"
            )
            return page("Sign in", form)
        username = request.form.get("username", "")
        form = (
            "<form method='post' action='/login'>"
            f"<input type='hidden' name='username' value='{esc(username)}'>"
            f"<p>Signing in as {esc(username)}</p>"
            "<label>Password <input type='password' name='password' autocomplete='current-password'></label>"
            "<button type='submit'>Sign in</button></form>"
        )
        return page("Enter your password", form)

    def on_account(self, request: Request) -> Response:
        redirect = self._canonical_redirect(request)
        if redirect is not None:
            return redirect
        switches = self.lab.switches
        cache_control = switches.account_cache_control or "no-store"
        user = self._session_user(request)
        flapped = user is not None and self.lab.flaps("/account")
        if user is not None and not flapped:
            body = f"<p id='user'>Signed in as <strong>{esc(user)}</strong>.</p>"
            body += "<p><a href='/logout'>Sign out</a></p>"
            return self._protected(page("Account", body), cache_control=cache_control)
        response = page(
            "Not signed in", "<p>You are not signed in. <a href='/login'>Sign in</a></p>", status=401
        )
        if not switches.account_no_challenge:
            response.headers["WWW-Authenticate"] = COOKIE_CHALLENGE
        return self._protected(response, flapped=flapped, cache_control=cache_control)

    def on_logout(self, request: Request) -> Response:
        self.lab.end_session(request.cookies.get(SESSION_COOKIE))
        response = page("Signed out", "<p><a href='/login'>Sign in again</a></p>", status=303)
        response.headers["Location"] = "/login"
        response.delete_cookie(
            SESSION_COOKIE,
            path=self.lab.switches.session_cookie_path,
            domain=self.lab.switches.session_cookie_domain,
        )
        return response

    # -- JWT API and the single-page app ---------------------------------------------------------

    def on_api_login(self, request: Request) -> Response:
        data: Any = request.get_json(silent=True) if request.is_json else request.form
        if not hasattr(data, "get"):
            data = {}
        if not self.lab.check_password(data.get("username"), data.get("password")):
            body = {"error": "invalid_credentials", "error_description": "the username or password is wrong"}
            return json_response(body, 401, [("Cache-Control", "no-store")])
        ttl = self.lab.switches.jwt_ttl_s
        token = self.lab.mint_jwt(ttl_s=ttl)
        return json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": ttl},
            headers=[("Cache-Control", "no-store")],
        )

    def _bearer_error(self, status: int, error: str | None, description: str, **extra: str) -> Response:
        params = {"realm": "lab"}
        if error:
            params |= {"error": error, "error_description": description}
        params |= extra
        body = {"error": error or "unauthorized", "error_description": description}
        response = json_response(body, status, [("WWW-Authenticate", challenge("Bearer", **params))])
        return response

    def _token_problem(self, claims: dict[str, Any]) -> str | None:
        """Why a correctly signed token is not valid now (by the server clock), or None."""
        now = self.lab.now()

        def stamp(value: Any) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(value)))

        if self.lab.token_revoked(claims):
            return "the access token was revoked"
        if "exp" in claims and float(claims["exp"]) <= now:
            return f"the access token expired at {stamp(claims['exp'])}"
        if "nbf" in claims and float(claims["nbf"]) > now + 5:
            return f"the access token is not valid before {stamp(claims['nbf'])}"
        audiences = claims.get("aud")
        audiences = [audiences] if isinstance(audiences, str) else list(audiences or [])
        if API_AUDIENCE not in audiences:
            return f"the access token is for audience {', '.join(audiences) or '(none)'}, not {API_AUDIENCE}"
        if claims.get("iss") != self.lab.app_url:
            return f"the access token was issued by {claims.get('iss')}, not {self.lab.app_url}"
        return None

    def on_api_me(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header:
            # RFC 6750 §3.1: no error code when the request carried no credentials at all.
            return self._bearer_error(401, None, "no access token")
        if scheme.lower() != "bearer" or not token.strip():
            return self._bearer_error(
                401, "invalid_request", f"expected a Bearer token, got {scheme} credentials"
            )
        try:
            claims = self.lab.decode_jwt(token.strip())
        except jwt.InvalidSignatureError:
            return self._bearer_error(401, "invalid_token", "the access token's signature does not verify")
        except jwt.InvalidTokenError:
            return self._bearer_error(401, "invalid_token", "the access token is malformed")
        problem = self._token_problem(claims)
        if problem:
            return self._bearer_error(401, "invalid_token", problem)
        if self.lab.flaps("/api/me"):
            return self._protected(
                self._bearer_error(401, "invalid_token", "the access token is invalid"), flapped=True
            )
        role = self.lab.switches.require_role
        roles = claims.get("roles") or []
        if role and role not in roles:
            status = self.lab.switches.insufficient_status
            return self._protected(
                self._bearer_error(
                    status, "insufficient_scope", f"this resource requires the role {role}", scope=role
                )
            )
        me = {"sub": claims.get("sub"), "roles": roles, "scope": claims.get("scope")}
        return self._protected(json_response(me))

    def on_spa_login(self, request: Request) -> Response:
        return page("Sign in to the app", SPA_LOGIN)

    def on_spa_home(self, request: Request) -> Response:
        return page("The app", SPA_HOME)

    # -- HTTP authentication areas ---------------------------------------------------------------

    def on_basic(self, request: Request) -> Response:
        redirect = self._canonical_redirect(request)
        if redirect is not None:
            return redirect
        switches = self.lab.switches
        if switches.basic_requires_bearer:
            response = page("Unauthorized", "<p>This area accepts bearer tokens only.</p>", status=401)
            response.headers["WWW-Authenticate"] = challenge("Bearer", realm=BASIC_REALM)
            return self._protected(response)
        auth = request.authorization
        ok = (
            auth is not None
            and auth.type == "basic"
            and self.lab.check_password(auth.username, auth.password)
        )
        flapped = ok and self.lab.flaps("/basic/")
        if ok and not flapped and not switches.basic_no_challenge:
            user = auth.username if auth is not None else ""
            return self._protected(page("Basic area", f"<p id='user'>Signed in as {esc(user)}</p>"))
        response = page("Unauthorized", "<p>This area needs a username and password.</p>", status=401)
        if not switches.basic_no_challenge:
            response.headers["WWW-Authenticate"] = challenge("Basic", realm=BASIC_REALM, charset="UTF-8")
        return self._protected(response, flapped=flapped)

    def _digest_ok(self, request: Request) -> tuple[bool, bool]:
        """(valid, stale): RFC 7616 §3.4 with MD5 and qop=auth."""
        auth = request.authorization
        if auth is None or auth.type != "digest":
            return False, False
        p = auth.parameters
        needed = ("username", "realm", "nonce", "uri", "response", "qop", "nc", "cnonce")
        if any(not p.get(name) for name in needed) or p["qop"] != "auth" or p["realm"] != DIGEST_REALM:
            return False, False
        if p["username"] != self.lab.username or urllib.parse.urlsplit(p["uri"]).path != request.path:
            return False, False
        ha1 = _md5(f"{p['username']}:{DIGEST_REALM}:{self.lab.accepted_password()}")
        ha2 = _md5(f"{request.method}:{p['uri']}")
        expected = _md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        if not hmac.compare_digest(expected, str(p["response"])):
            return False, False
        issued = self._nonces.get(str(p["nonce"]))
        if issued is None or self.lab.now() - issued > NONCE_LIFETIME_S:
            return False, True
        return True, False

    def on_digest(self, request: Request) -> Response:
        redirect = self._canonical_redirect(request)
        if redirect is not None:
            return redirect
        ok, stale = self._digest_ok(request)
        flapped = ok and self.lab.flaps("/digest/")
        if ok and not flapped:
            user = request.authorization.parameters["username"] if request.authorization else ""
            return self._protected(page("Digest area", f"<p id='user'>Signed in as {esc(user)}</p>"))
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = self.lab.now()
        params = {
            "realm": DIGEST_REALM,
            "qop": "auth",
            "algorithm": "MD5",
            "nonce": nonce,
            "opaque": self._opaque,
        }
        value = challenge("Digest", **params).replace('algorithm="MD5"', "algorithm=MD5")
        if stale:
            value += ", stale=true"
        response = page("Unauthorized", "<p>This area needs a username and password.</p>", status=401)
        response.headers["WWW-Authenticate"] = value
        return self._protected(response, flapped=flapped)

    # -- API key ---------------------------------------------------------------------------------

    def on_apikey_data(self, request: Request) -> Response:
        switches = self.lab.switches
        if switches.api_key_location == "query":
            given, where = request.args.get("api_key"), "the query parameter api_key"
        else:
            name = switches.api_key_header_name
            given, where = request.headers.get(name), f"the header {name}"
        problem = None
        accepted = self.lab.accepted_api_key()
        if not given:
            problem = f"no API key in {where}"
        elif hmac.compare_digest(given.encode(), accepted.encode()):
            problem = "the API key was revoked" if switches.api_key_revoked else None
        elif switches.api_key_rotated and hmac.compare_digest(given.encode(), self.lab.api_key.encode()):
            problem = "the API key was revoked"  # replaced by a new key
        else:
            problem = "unknown API key"
        flapped = problem is None and self.lab.flaps("/apikey/data")
        if flapped:
            problem = "unknown API key"
        if problem is None:
            return self._protected(json_response({"items": ["alpha", "beta"], "owner": self.lab.username}))
        body = {"error": "invalid_key", "error_description": problem}
        header = challenge("ApiKey", realm="lab", error="invalid_key", error_description=problem)
        return self._protected(json_response(body, 401, [("WWW-Authenticate", header)]), flapped=flapped)

    # -- OpenID Connect client -------------------------------------------------------------------

    @property
    def _redirect_uri(self) -> str:
        return f"{self.lab.app_url}/oidc/callback"

    def on_oidc_start(self, request: Request) -> Response:
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self._oidc_transactions[state] = (nonce, safe_next(request.args.get("next")))
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.lab.client_id,
                "redirect_uri": self._redirect_uri,
                "state": state,
                "nonce": nonce,
                "scope": "openid",
            }
        )
        location = f"{self.lab.idp_url}/authorize?{query}"
        response = page(
            "Signing in",
            f"<p><a href='{esc(location)}'>Continue to the identity provider</a></p>",
            status=302,
        )
        response.headers["Location"] = location
        response.headers["Cache-Control"] = "no-store"
        # Binds the transaction to this browser; Lax so it comes back on the IdP's top-level redirect.
        response.set_cookie(OIDC_TX_COOKIE, state, max_age=600, path="/oidc/", httponly=True, samesite="Lax")
        return response

    def _oidc_failure(self, reason: str) -> Response:
        response = page(
            "Sign-in failed", f"<p>{esc(reason)}</p><p><a href='/oidc/start'>Try again</a></p>", status=401
        )
        response.headers["WWW-Authenticate"] = COOKIE_CHALLENGE
        response.headers["Cache-Control"] = "no-store"
        return response

    def _exchange_code(self, code: str) -> dict[str, Any]:
        """The back-channel token request (RFC 6749 §4.1.3), straight to the IdP (never a proxy)."""
        data = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._redirect_uri,
                "client_id": self.lab.client_id,
                "client_secret": self.lab.client_secret,
            }
        ).encode()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        request = urllib.request.Request(f"{self.lab.idp_url}/token", data=data, method="POST")
        with opener.open(request, timeout=10) as response:
            result: dict[str, Any] = json.loads(response.read())
        return result

    def on_oidc_callback(self, request: Request) -> Response:
        if request.args.get("error"):
            return self._oidc_failure(f"the identity provider answered {request.args['error']}")
        state = request.args.get("state", "")
        if not state or state != request.cookies.get(OIDC_TX_COOKIE) or state not in self._oidc_transactions:
            return self._oidc_failure("the state parameter does not match this browser's sign-in")
        nonce, next_url = self._oidc_transactions.pop(state)
        try:
            tokens = self._exchange_code(request.args.get("code", ""))
        except urllib.error.HTTPError as exc:
            exc.close()
            return self._oidc_failure(f"the identity provider refused the code ({exc.code})")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return self._oidc_failure(f"the identity provider could not be reached: {exc}")
        try:
            claims = jwt.decode(
                tokens.get("id_token", ""),
                self.lab.client_secret,
                algorithms=["HS256"],
                audience=self.lab.client_id,
                issuer=self.lab.idp_url,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidTokenError as exc:
            return self._oidc_failure(f"the id_token does not verify: {exc}")
        if float(claims.get("exp", 0)) <= self.lab.now():
            return self._oidc_failure("the id_token has expired")
        if claims.get("nonce") != nonce:
            return self._oidc_failure("the id_token's nonce does not match")
        response = page("Signed in", f"<p><a href='{esc(next_url)}'>Continue</a></p>", status=302)
        response.headers["Location"] = next_url
        response.headers["Cache-Control"] = "no-store"
        # The relying party keeps the access token's expiry (from expires_in, RFC 6749 §5.1) in its session.
        expires_in = float(tokens.get("expires_in") or 0)
        self._set_session(response, str(claims["sub"]), access_token_exp=self.lab.now() + expires_in)
        response.delete_cookie(OIDC_TX_COOKIE, path="/oidc/", httponly=True, samesite="Lax")
        return response

    # -- service worker area ---------------------------------------------------------------------

    def on_sw_login(self, request: Request) -> Response:
        return page(
            "Sign in to the offline-ready area",
            login_form("/login", hidden={"next": "/sw-app/"}) + SW_REGISTER,
        )

    def on_sw_home(self, request: Request) -> Response:
        # A browser without a session cookie is sent to sign in first, as the other app pages do.
        return behind_cookie(request, "Offline-ready area", SW_HOME + SW_REGISTER, "/sw-app/login")

    def on_sw_script(self, request: Request) -> Response:
        source = resources.files("loginprobe.lab").joinpath("static/sw.js").read_text(encoding="utf-8")
        source = source.replace("__CACHE_FIRST__", "true" if self.lab.switches.sw_cache_first else "false")
        response = Response(source, mimetype="text/javascript")
        response.headers["Cache-Control"] = "no-cache"
        return response

    def on_sw_data(self, request: Request) -> Response:
        user = self._session_user(request)
        flapped = user is not None and self.lab.flaps("/sw-app/data")
        if user is not None and not flapped:
            return self._protected(json_response({"user": user, "items": ["report.pdf", "notes.txt"]}))
        response = json_response({"error": "not signed in"}, 401, [("WWW-Authenticate", COOKIE_CHALLENGE)])
        return self._protected(response, flapped=flapped)
