"""The lab's apps a returning user comes back to: pages whose own scripts make the protected request
with state the browser kept from an earlier visit, as real single-page apps and dashboards do.

- `/dashboard` calls `/api/session` with the session cookie (a Flask or Django app behind a JSON API);
- `/portal/` fetches a token document (`/portal/token`, cookie-authenticated) and calls `/api/me` with
  the access token in it; how long a browser or a shared cache may keep that document is a switch;
- `/rp/` is an OpenID Connect relying party's page: `/rp/api/profile` needs the access token the
  relying party keeps in its session (express-openid-connect's `requiresAuth` with a token check);
- `/console/` reads its API key from `/console/config.json` (no key is configured by the user) and
  calls `/apikey/data` with it.

The pages sit behind the check Next.js's middleware examples make: no session cookie at all sends
the browser to sign in; a cookie, valid or not, gets the page, and the API judges it. So a browser that
holds state from an earlier visit sees the API's refusal (and a link to sign in), not a login form,
while a browser without cookies is asked to sign in.
"""

from __future__ import annotations

import time
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from loginprobe.lab.state import SESSION_COOKIE, LabState
from loginprobe.lab.wsgi import COOKIE_CHALLENGE, challenge, esc, json_response, page

RULES = [
    Rule("/dashboard", endpoint="dashboard"),
    Rule("/api/session", endpoint="api_session"),
    Rule("/portal/", endpoint="portal"),
    Rule("/portal/token", endpoint="portal_token"),
    Rule("/rp/", endpoint="rp_home"),
    Rule("/rp/api/profile", endpoint="rp_profile"),
    Rule("/console/", endpoint="console"),
    Rule("/console/config.json", endpoint="console_config"),
]

DASHBOARD = """<p id="user" role="status">Loading…</p>
<script>
(async () => {
  const response = await fetch("/api/session", {credentials: "same-origin"});
  const shown = document.getElementById("user");
  if (response.ok) {
    const me = await response.json();
    shown.textContent = "Signed in as " + me.user;
  } else {
    shown.innerHTML = "Your session has ended (" + response.status + "). "
      + "<a href='/login?next=/dashboard'>Sign in</a>";
  }
})();
</script>"""

PORTAL = """<p id="me" role="status">Loading…</p>
<script>
(async () => {
  const shown = document.getElementById("me");
  const tokenResponse = await fetch("/portal/token", {credentials: "same-origin"});
  if (!tokenResponse.ok) {
    shown.innerHTML = "Not signed in (" + tokenResponse.status + "). "
      + "<a href='/login?next=/portal/'>Sign in</a>";
    return;
  }
  const token = (await tokenResponse.json()).access_token;
  const response = await fetch("/api/me", {headers: {"Authorization": "Bearer " + token}});
  shown.textContent = response.ok
    ? "Signed in as " + (await response.json()).sub
    : "The API refused the portal's token (" + response.status + ")";
})();
</script>"""

RP_HOME = """<p id="profile" role="status">Loading…</p>
<script>
(async () => {
  const response = await fetch("/rp/api/profile", {credentials: "same-origin"});
  const shown = document.getElementById("profile");
  if (response.ok) {
    shown.textContent = "Signed in as " + (await response.json()).sub;
  } else {
    shown.innerHTML = "Your sign-in has expired (" + response.status + "). "
      + "<a href='/oidc/start?next=/rp/'>Sign in again</a>";
  }
})();
</script>"""

CONSOLE = """<p id="data" role="status">Loading…</p>
<script>
(async () => {
  const config = await (await fetch("/console/config.json")).json();
  const response = await fetch(config.api_url, {headers: {[config.key_header]: config.api_key}});
  const shown = document.getElementById("data");
  shown.textContent = response.ok
    ? "Items: " + (await response.json()).items.join(", ")
    : "The API refused the app's key (" + response.status + ")";
})();
</script>"""


def _stamp(value: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(value))


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def behind_cookie(request: Request, title: str, body: str, login: str) -> Response:
    """The page when the request carries a session cookie (valid or not), else a redirect to `login`."""
    if SESSION_COOKIE in request.cookies:
        return _no_store(page(title, body))
    response = page("Sign in first", f"<p><a href='{esc(login)}'>Sign in</a></p>", status=302)
    response.headers["Location"] = login
    return _no_store(response)


class ReturningApps:
    """The handlers of `RULES` (LabApp dispatches to them)."""

    def __init__(self, lab: LabState) -> None:
        self.lab = lab

    def _not_signed_in(self) -> Response:
        body = {"error": "not_signed_in", "error_description": "no valid session"}
        return _no_store(json_response(body, 401, [("WWW-Authenticate", COOKIE_CHALLENGE)]))

    # -- a dashboard behind a cookie-session JSON API --------------------------------------------

    def on_dashboard(self, request: Request) -> Response:
        return behind_cookie(request, "Dashboard", DASHBOARD, "/login?next=/dashboard")

    def on_api_session(self, request: Request) -> Response:
        user = self.lab.session_user(request.cookies.get(SESSION_COOKIE))
        if user is None:
            return self._not_signed_in()
        return _no_store(json_response({"user": user}))

    # -- a portal that hands its page a token document -------------------------------------------

    def on_portal(self, request: Request) -> Response:
        return behind_cookie(request, "Portal", PORTAL, "/login?next=/portal/")

    def on_portal_token(self, request: Request) -> Response:
        user = self.lab.session_user(request.cookies.get(SESSION_COOKIE))
        if user is None:
            return self._not_signed_in()
        ttl = self.lab.switches.jwt_ttl_s
        body: dict[str, Any] = {
            "access_token": self.lab.mint_jwt(ttl_s=ttl),
            "token_type": "Bearer",
            "expires_in": ttl,
        }
        response = json_response(body)
        response.headers["Cache-Control"] = self.lab.switches.token_document_cache_control
        return response

    # -- an OpenID Connect relying party ---------------------------------------------------------

    def on_rp_home(self, request: Request) -> Response:
        return behind_cookie(request, "Relying party", RP_HOME, "/oidc/start?next=/rp/")

    def on_rp_profile(self, request: Request) -> Response:
        session = self.lab.session(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return self._not_signed_in()
        expires = session.access_token_exp
        if expires is not None and expires <= self.lab.now():
            # The session lives on; the access token it holds does not (RFC 6750 §3.1 invalid_token).
            description = f"the access token expired at {_stamp(expires)}"
            header = challenge("Bearer", realm="lab", error="invalid_token", error_description=description)
            body = {"error": "invalid_token", "error_description": description}
            return _no_store(json_response(body, 401, [("WWW-Authenticate", header)]))
        return _no_store(json_response({"sub": session.username}))

    # -- an app whose API key comes from its own config ------------------------------------------

    def on_console(self, request: Request) -> Response:
        return _no_store(page("Console", CONSOLE))

    def on_console_config(self, request: Request) -> Response:
        config = {
            "api_url": "/apikey/data",
            "key_header": self.lab.switches.api_key_header_name,
            "api_key": self.lab.accepted_api_key(),
        }
        response = json_response(config)
        response.headers["Cache-Control"] = self.lab.switches.app_config_cache_control
        return response
