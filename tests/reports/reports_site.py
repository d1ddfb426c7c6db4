"""A tiny login site on 127.0.0.1 (http.server in a thread) whose traffic carries every kind of secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PASSWORD = "Corr3ct-Horse-Battery!"
SESSION = "sess-9f8e7d6c5b4a39281706"
BEARER = "tok_live_5c1d2e3f4a5b6c7d8e9f"
API_KEY = "ak_0123456789abcdefXYZ"
SECRETS = [PASSWORD, SESSION, BEARER, API_KEY]

LOGIN_PAGE = b"""<!doctype html><title>Sign in</title>
<form method="post" action="/login">
  <input id="username" name="username" autocomplete="username">
  <input id="password" name="password" type="password">
  <button id="submit" type="submit">Sign in</button>
</form>"""

APP_PAGE = f"""<!doctype html><title>App</title><p id="state">loading</p>
<script>
fetch('/api/me', {{headers: {{'Authorization': 'Bearer {BEARER}'}}}})
  .then(r => fetch('/api/data?api_key={API_KEY}&page=1'))
  .then(r => r.json())
  .then(j => {{ document.getElementById('state').textContent = 'done ' + j.items; }});
</script>""".encode()


class _Handler(BaseHTTPRequestHandler):
    """Login form, a session cookie, a bearer-protected API and an api-key API."""

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep pytest output clean

    def _send(self, status: int, body: bytes, content_type: str, extra: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = urlsplit(self.path)
        if path.path == "/login":
            self._send(200, LOGIN_PAGE, "text/html")
        elif path.path == "/app":
            self._send(200, APP_PAGE, "text/html")
        elif path.path == "/api/me":
            ok = self.headers.get("Authorization") == f"Bearer {BEARER}"
            body = json.dumps({"user": "alice"} if ok else {"error": "invalid_token"}).encode()
            challenge = [] if ok else [("WWW-Authenticate", 'Bearer error="invalid_token"')]
            self._send(200 if ok else 401, body, "application/json", challenge)
        elif path.path == "/api/data":
            ok = parse_qs(path.query).get("api_key") == [API_KEY]
            self._send(200 if ok else 401, json.dumps({"items": 3}).encode(), "application/json")
        else:
            self._send(404, b"not found", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = parse_qs(self.rfile.read(length).decode())
        if form.get("password") == [PASSWORD]:
            cookie = f"session={SESSION}; Path=/; HttpOnly; SameSite=Lax"
            self._send(303, b"", "text/plain", [("Location", "/app"), ("Set-Cookie", cookie)])
        else:
            self._send(401, b"bad credentials", "text/plain")


@dataclass(frozen=True, slots=True)
class Site:
    base_url: str


@contextmanager
def login_site() -> Iterator[Site]:
    """Serve the site on an ephemeral port for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
