"""The lab's OpenID provider, on another origin and another site (http://localhost:<port>): discovery,
an authorization endpoint with its own login form, and a token endpoint for the code exchange.

Like real identity providers, it keeps its own session (a cookie on its origin): a browser that signed
in there before is sent straight back to the app with a new code, without seeing the form, so a
relying party's new sign-in silently refreshes its tokens."""

from __future__ import annotations

import hmac
import json
import secrets
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jwt
from werkzeug.exceptions import HTTPException
from werkzeug.http import http_date
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from loginprobe.lab.state import LabState
from loginprobe.lab.wsgi import esc, login_form, page

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

CODE_LIFETIME_S = 60
IDP_SESSION_COOKIE = "idp_session"
IDP_SESSION_LIFETIME_S = 24 * 3600
ID_TOKEN_LIFETIME_S = 300
AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "state", "nonce", "scope")

URLS = Map(
    [
        Rule("/.well-known/openid-configuration", endpoint="discovery"),
        Rule("/authorize", endpoint="authorize", methods=["GET", "POST"]),
        Rule("/token", endpoint="token", methods=["POST"]),
    ]
)


@dataclass(frozen=True, slots=True)
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    username: str
    issued: float


def _json(data: Any, status: int = 200) -> Response:
    response = Response(json.dumps(data), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


class IdentityProvider:
    """A minimal OpenID provider for the lab's one client (authorization code flow, HS256 id_tokens
    signed with the client secret, as OpenID Connect Core §10.1 allows)."""

    def __init__(self, lab: LabState) -> None:
        self.lab = lab
        self._codes: dict[str, _Grant] = {}
        self._sessions: dict[str, tuple[str, float]] = {}  # IdP session id -> (user, expires)

    def _session_user(self, request: Request) -> str | None:
        entry = self._sessions.get(request.cookies.get(IDP_SESSION_COOKIE, ""))
        if entry is None or entry[1] <= self.lab.now():
            return None
        return entry[0]

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        adapter = URLS.bind_to_environ(environ)
        try:
            endpoint, args = adapter.match()
            handler: Callable[..., Response] = getattr(self, f"on_{endpoint}")
            response = handler(request, **args)
        except HTTPException as exc:
            response = exc.get_response(environ)
        response.headers["Date"] = http_date(self.lab.now())
        return response(environ, start_response)

    @property
    def _redirect_uri(self) -> str:
        return f"{self.lab.app_url}/oidc/callback"

    def on_discovery(self, request: Request) -> Response:
        issuer = self.lab.idp_url
        return _json(
            {
                "issuer": issuer,
                "authorization_endpoint": f"{issuer}/authorize",
                "token_endpoint": f"{issuer}/token",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["HS256"],
                "scopes_supported": ["openid"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "grant_types_supported": ["authorization_code"],
            }
        )

    def on_authorize(self, request: Request) -> Response:
        params = {name: request.values.get(name, "") for name in AUTHORIZE_PARAMS}
        if params["client_id"] != self.lab.client_id or params["redirect_uri"] != self._redirect_uri:
            # RFC 6749 §4.1.2.1: never redirect to an unregistered redirect_uri.
            return page("Bad request", "<p>Unknown client or redirect_uri.</p>", status=400)
        if params["response_type"] != "code" or "openid" not in params["scope"].split():
            return self._back(params, {"error": "unsupported_response_type"})
        signed_in = self._session_user(request)
        if request.method == "GET" and signed_in is not None:
            return self._back(params, {"code": self._grant(params, signed_in), "state": params["state"]})
        if request.method == "GET":
            return page("Lab identity provider: sign in", login_form("/authorize", hidden=params))
        username = request.form.get("username")
        if not self.lab.check_password(username, request.form.get("password")):
            form = login_form("/authorize", hidden=params, message="The username or password is wrong.")
            response = page("Lab identity provider: sign in", form, status=401)
            response.headers["WWW-Authenticate"] = 'Cookie realm="lab-idp" form-action="/authorize"'
            response.headers["Cache-Control"] = "no-store"
            return response
        response = self._back(params, {"code": self._grant(params, username or ""), "state": params["state"]})
        sid = self.lab.record(secrets.token_urlsafe(18))
        self._sessions[sid] = (username or "", self.lab.now() + IDP_SESSION_LIFETIME_S)
        # Lax: sent on the top-level redirect from the app (another site) to /authorize.
        response.set_cookie(
            IDP_SESSION_COOKIE, sid, max_age=IDP_SESSION_LIFETIME_S, httponly=True, samesite="Lax"
        )
        return response

    def _grant(self, params: dict[str, str], username: str) -> str:
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Grant(
            params["client_id"], params["redirect_uri"], params["nonce"] or None, username, self.lab.now()
        )
        return code

    def _back(self, params: dict[str, str], result: dict[str, str]) -> Response:
        location = f"{params['redirect_uri']}?{urllib.parse.urlencode(result)}"
        response = page("Back to the app", f"<p><a href='{esc(location)}'>Continue</a></p>", status=302)
        response.headers["Location"] = location
        response.headers["Cache-Control"] = "no-store"
        return response

    def _client_ok(self, request: Request) -> bool:
        auth = request.authorization
        if auth is not None and auth.type == "basic":
            client_id, client_secret = auth.username or "", auth.password or ""
        else:
            client_id, client_secret = (
                request.form.get("client_id", ""),
                request.form.get("client_secret", ""),
            )
        return client_id == self.lab.client_id and hmac.compare_digest(
            client_secret.encode(), self.lab.client_secret.encode()
        )

    def on_token(self, request: Request) -> Response:
        if not self._client_ok(request):
            response = _json({"error": "invalid_client"}, 401)
            response.headers["WWW-Authenticate"] = 'Basic realm="lab-idp"'
            return response
        grant = self._codes.pop(request.form.get("code", ""), None)  # a code is good once (RFC 6749 §4.1.2)
        now = self.lab.now()
        if (
            request.form.get("grant_type") != "authorization_code"
            or grant is None
            or grant.redirect_uri != request.form.get("redirect_uri")
            or now - grant.issued > CODE_LIFETIME_S
        ):
            return _json({"error": "invalid_grant"}, 400)
        claims: dict[str, Any] = {
            "iss": self.lab.idp_url,
            "sub": grant.username,
            "aud": grant.client_id,
            "iat": int(now),
            "exp": int(now) + ID_TOKEN_LIFETIME_S,
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        id_token = self.lab.record(jwt.encode(claims, self.lab.client_secret, algorithm="HS256"))
        access_token = self.lab.mint_jwt(ttl_s=self.lab.switches.jwt_ttl_s, scope="openid")
        return _json(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": self.lab.switches.jwt_ttl_s,
                "id_token": id_token,
            }
        )
