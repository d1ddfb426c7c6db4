"""WebKitGTK's cookie rules on loopback, as loginprobe's shell runs it (the README's WebKit paragraph).

One WebKitGTK session (WebKitWebDriver + loginprobe's shell under Xvfb) against a small server that
answers on both loopback names, 127.0.0.1 and localhost: two sites to a browser. The server records
the Cookie header of every request, so what was sent is read where it arrives.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from loginprobe.evidence import Engine, EngineStatus
from loginprobe.flows.webdriver import Session
from loginprobe.flows.webkit_launch import SHELL, find_recipe, webdriver_service
from tests.conftest import require_engine

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SET = [
    "sec=1; Secure; Path=/",
    "strict=1; SameSite=Strict; Path=/",
    "lax=1; SameSite=Lax; Path=/",
    "plain=1; Path=/",
]


@dataclass
class Seen:
    """(method, host, path) -> the Cookie header names of the last such request."""

    cookies: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)


def _handler(seen: Seen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _page(self, body: str, headers: list[tuple[str, str]]) -> None:
            data = body.encode()
            self.send_response(200)
            for name, value in [("Content-Type", "text/html"), ("Cache-Control", "no-store"), *headers]:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.do_GET("POST")

        def do_GET(self, method: str = "GET") -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            host = (self.headers.get("Host") or "").split(":")[0]
            sent = [part.split("=")[0].strip() for part in (self.headers.get("Cookie") or "").split(";")]
            seen.cookies[(method, host, url.path)] = sorted(name for name in sent if name)
            if url.path == "/set":
                self._page("<p>set</p>", [("Set-Cookie", value) for value in SET])
            elif url.path == "/link":
                self._page(f"<a id=go href='{query['to']}'>go</a>", [])
            elif url.path == "/post":
                self._page(f"<form method=post action='{query['to']}'><button id=go>go</button></form>", [])
            elif url.path == "/frame":
                self._page(f"<iframe src='{query['src']}'></iframe>", [])
            elif url.path == "/third":
                self._page("<p>third</p>", [("Set-Cookie", "third=1; SameSite=None; Path=/")])
            else:
                self._page("<p>page</p>", [])

    return Handler


@pytest.fixture(scope="module")
def loopback() -> Iterator[tuple[str, str, Seen]]:
    """One server, reached as http://127.0.0.1:PORT and http://localhost:PORT (two sites)."""
    seen = Seen()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(seen))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        yield f"http://127.0.0.1:{port}", f"http://localhost:{port}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def webkit(
    engine_status: dict[Engine, EngineStatus], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Session]:
    """A WebKitGTK session on loginprobe's shell with an ephemeral profile."""
    require_engine(engine_status, "webkit")
    recipe = find_recipe()
    if isinstance(recipe, str):
        pytest.skip(recipe)  # Playwright's own WebKit is installed: these rules are WebKitGTK's
    work = tmp_path_factory.mktemp("webkit-cookies")
    config = work / "shell.json"
    config.write_text(json.dumps({"network_log": str(work / "resources.jsonl")}))
    options = {"binary": str(recipe.options["python"]), "args": [str(SHELL), f"--config={config}"]}
    with webdriver_service(recipe, True, Path(work)) as driver:
        session = driver.new_session({"webkitgtk:browserOptions": options})
        try:
            session.set_timeouts(60)
            yield session
        finally:
            session.close()


def _click_and_wait(session: Session, seen: Seen, key: tuple[str, str, str]) -> list[str]:
    seen.cookies.pop(key, None)
    session.click(session.find("#go")[0])
    deadline = time.monotonic() + 30
    while key not in seen.cookies and time.monotonic() < deadline:
        time.sleep(0.1)
    return seen.cookies[key]


def test_webkit_gtk_cookie_rules_on_loopback(webkit: Session, loopback: tuple[str, str, Seen]) -> None:
    ip, name, seen = loopback
    # Given a localhost page that frames 127.0.0.1 before 127.0.0.1 ever set a cookie (third party)
    webkit.navigate(f"{name}/frame?src={ip}/third")
    deadline = time.monotonic() + 30
    while ("GET", "127.0.0.1", "/third") not in seen.cookies and time.monotonic() < deadline:
        time.sleep(0.1)
    # When each loopback name sets a Secure, a Strict, a Lax and a plain cookie over http
    for base in (ip, name):
        webkit.navigate(f"{base}/set")
        stored = {c["name"] for c in webkit.cookies()}
        # Then the Secure cookie is not stored on either name (Chromium and Firefox keep it)
        assert stored == {"strict", "lax", "plain"}, (base, stored)
    # And the framed third party's cookie was never stored
    webkit.navigate(f"{ip}/page")
    assert "third" not in {c["name"] for c in webkit.cookies()}
    assert seen.cookies[("GET", "127.0.0.1", "/page")] == ["lax", "plain", "strict"]
    # When a localhost page links back to 127.0.0.1 (a cross-site top-level GET)
    webkit.navigate(f"{name}/link?to={ip}/back")
    # Then Lax and plain cookies go with it and the Strict one stays off
    assert _click_and_wait(webkit, seen, ("GET", "127.0.0.1", "/back")) == ["lax", "plain"]
    # And a cross-site form POST back carries neither Lax nor Strict (an identity provider's form_post)
    webkit.navigate(f"{name}/post?to={ip}/back")
    assert _click_and_wait(webkit, seen, ("POST", "127.0.0.1", "/back")) == ["plain"]
