"""Plumbing shared by the lab's servers: a quiet threaded Werkzeug server and small page helpers."""

from __future__ import annotations

import html
import json
import threading
from collections.abc import Iterable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Response

# Hop-by-hop headers (RFC 9110 §7.6.1) never travel past an intermediary.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


# The challenge of the lab's cookie-session pages: a 401 that names the form to sign in with.
COOKIE_CHALLENGE = 'Cookie realm="lab" form-action="/login"'


class _QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without the access log (errors are still logged) and without a second `Date`."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        # http.server would add a `Date` from the real clock; every lab app sends the lab clock's own.
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())


class ServerThread:
    """One Werkzeug server on 127.0.0.1, port 0, served from a daemon thread."""

    def __init__(self, app: Any, name: str) -> None:
        self.server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler
        )
        self.port: int = self.server.server_port
        # A short poll interval: `shutdown()` waits for the loop's next poll, and tests start many labs.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, name=f"lab-{name}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(title: str, body: str, status: int = 200, **kwargs: Any) -> Response:
    """A small HTML page."""
    text = (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{esc(title)}</title></head>\n<body>\n<h1>{esc(title)}</h1>\n{body}\n</body></html>\n"
    )
    return Response(text, status=status, mimetype="text/html", **kwargs)


def login_form(
    action: str, *, hidden: dict[str, str] | None = None, message: str = "", button: str = "Sign in"
) -> str:
    """The username + password form (autocomplete attributes set, as password managers expect)."""
    fields = "".join(
        f"<input type='hidden' name='{esc(k)}' value='{esc(v)}'>" for k, v in (hidden or {}).items()
    )
    note = f"<p class='error' role='alert'>{esc(message)}</p>" if message else ""
    return (
        f"{note}<form method='post' action='{esc(action)}'>{fields}"
        "<label>Username <input type='text' name='username' id='username' autocomplete='username'></label>"
        "<label>Password <input type='password' name='password' id='password' "
        "autocomplete='current-password'></label>"
        f"<button type='submit'>{esc(button)}</button></form>"
    )


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def challenge(scheme: str, **params: str) -> str:
    """`Scheme realm="…", key="…"` (RFC 9110 §11.6.1 auth-params, always quoted)."""
    return scheme + " " + ", ".join(f"{key}={_quote(value)}" for key, value in params.items())


def json_response(data: Any, status: int = 200, headers: Iterable[tuple[str, str]] = ()) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json", headers=list(headers))


def safe_next(value: str | None, default: str = "/account") -> str:
    """Only same-site relative paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default
