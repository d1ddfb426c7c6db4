"""Hostile local servers for the fault suite, and a way to run the real CLI as a subprocess.

Every server listens on 127.0.0.1, port 0, in a thread of the test process; none is mocked.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

LOGINPROBE = Path(sys.executable).with_name("loginprobe")
HUGE_BYTES = 50 * 1024 * 1024
CHUNK = 1024 * 1024
WELCOME = b"<!doctype html><title>app</title><h1 id=welcome>Welcome back</h1>"


@dataclass
class FaultSite:
    """What the handler threads share with the test: who asked for what, and hooks to act on it."""

    seen: list[str] = field(default_factory=list)
    first_request: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)  # ends every hung response
    on_kill: Callable[[str], None] | None = None  # called with the User-Agent by /kill


def _handler(site: FaultSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the assertions say what happened

        def _send(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            site.seen.append(self.path)
            site.first_request.set()
            path = self.path.split("?")[0]
            try:
                if path == "/ok":
                    self._send(200, WELCOME, [("Content-Type", "text/html")])
                elif path == "/slow":
                    # Headers never come: the browser waits until its timeout (or the test ends).
                    site.release.wait(60)
                    self._send(200, WELCOME, [("Content-Type", "text/html")])
                elif path == "/basic-challenge":
                    # A challenge a bearer or API-key flow cannot answer (no http_credentials).
                    self._send(
                        401,
                        b"authentication required",
                        [("Content-Type", "text/plain"), ("WWW-Authenticate", 'Basic realm="faults"')],
                    )
                elif path == "/stall":
                    # Headers and the first bytes of the body, then nothing until the test ends.
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", "1000")
                    self.end_headers()
                    self.wfile.write(b'{"items": [')
                    self.wfile.flush()
                    site.release.wait(60)
                elif path == "/loop":
                    self._send(302, b"", [("Location", "/loop")])
                elif path == "/huge":
                    self._huge()
                elif path == "/malformed":
                    self._send(
                        401,
                        b'{"error": "eyJhbGciOi.eyJzdWIi.broken"}',
                        [
                            ("Content-Type", "application/json"),
                            ("WWW-Authenticate", 'Bearer realm="unterminated, error=, ,,, =x "\\'),
                            ("WWW-Authenticate", "\x7f\x01 Basic"),
                            ("Set-Cookie", "=novalue; ; Path"),
                            ("Set-Cookie", "session; Expires=not a date; Max-Age=abc; Secure=1"),
                            ("Set-Cookie", "token=eyJhbGciOiJub25lIn0.eyJleHAiOiJzb29uIn0.; SameSite=Weird"),
                        ],
                    )
                elif path == "/kill":
                    if site.on_kill is not None:
                        site.on_kill(self.headers.get("User-Agent", ""))
                    self._send(200, WELCOME, [("Content-Type", "text/html")])
                else:
                    self._send(404, b"not found", [("Content-Type", "text/plain")])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the browser gave up (timeout, crash, interrupt): nothing to answer

        def _huge(self) -> None:
            """A page whose body is 50 MB of HTML comment, streamed, never held whole in memory."""
            head = WELCOME + b"<!--"
            tail = b"-->"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(HUGE_BYTES))
            self.end_headers()
            self.wfile.write(head)
            remaining = HUGE_BYTES - len(head) - len(tail)
            chunk = b"x" * CHUNK
            while remaining > 0:
                part = chunk[: min(CHUNK, remaining)]
                self.wfile.write(part)
                remaining -= len(part)
            self.wfile.write(tail)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # browsers that are killed or time out drop connections mid-request; that is the point


@contextmanager
def fault_server(tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, FaultSite]]:
    """Serve the fault paths; yields (origin, shared state)."""
    site = FaultSite()
    server = _QuietServer(("127.0.0.1", 0), _handler(site))
    scheme = "http"
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}", site
    finally:
        site.release.set()
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 (openssl CLI)."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGINPROBE_")}
    env.update(COLUMNS="200", NO_COLOR="1")
    env.update(extra)
    return env


def start_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, **popen: object
) -> subprocess.Popen[str]:
    """`loginprobe <args>` as a subprocess with its output captured."""
    return subprocess.Popen(
        [str(LOGINPROBE), *args],
        cwd=cwd,
        env=env or cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,  # type: ignore[call-overload]
    )


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        """stderr's non-empty lines."""
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def messages(self) -> list[str]:
        """stderr's messages (`loginprobe: ...`), without the progress lines a non-terminal gets."""
        return [line for line in self.lines if line.startswith("loginprobe: ")]


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60) -> CliResult:
    started = time.monotonic()
    proc = start_cli(*args, cwd=cwd, env=env)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc.pid)
        out, err = proc.communicate()
        raise AssertionError(f"loginprobe {' '.join(args)} hung; stderr so far:\n{err}") from None
    return CliResult(proc.returncode, out, err, time.monotonic() - started)


def kill_tree(pid: int) -> None:
    """Kill a process this test started and everything under it."""
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    for proc in [*parent.children(recursive=True), parent]:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass


def browser_processes(root_pid: int, names: tuple[str, ...]) -> list[psutil.Process]:
    """Browser processes (main and helpers) descended from a CLI subprocess this test started."""
    try:
        parent = psutil.Process(root_pid)
    except psutil.NoSuchProcess:
        return []
    found = []
    for proc in parent.children(recursive=True):
        try:
            if any(name in proc.name() for name in names):
                found.append(proc)
        except psutil.NoSuchProcess:
            continue
    return found


def report_folders(output: Path) -> list[Path]:
    # `latest` is a link to the newest run folder, not a run of its own.
    return sorted(p for p in output.iterdir() if p.is_dir() and not p.is_symlink()) if output.exists() else []
