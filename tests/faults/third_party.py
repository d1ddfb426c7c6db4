"""Real third-party servers for the fault suite: httpbin under gunicorn, nginx with `auth_basic`.

Each is started by the test that needs it, as a child process listening on a free 127.0.0.1 port, with
its files in the test's tmp folder, and stopped (with everything under it) when the test ends.
`scripts/setup` installs both: nginx from Debian, httpbin in a virtualenv of its own (`.venv/servers`,
since httpbin 0.10 pins a greenlet that Playwright excludes).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.servers import kill_tree

ROOT = Path(__file__).resolve().parents[2]
SERVERS_VENV = ROOT / ".venv" / "servers"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# What Debian's own nginx.conf includes: without it every file is `default_type` (text/plain).
MIME_TYPES = "/etc/nginx/mime.types"
START_S = 30.0


def _missing(what: str) -> None:
    """A server scripts/setup should have installed: CI fails on it, a developer's run skips."""
    message = f"{what} is not installed: run scripts/setup"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {log.read_text(errors='replace')}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"server did not listen on 127.0.0.1:{port} within {START_S:g} s")


@contextmanager
def _serving(command: list[str], port: int, log: Path, cwd: Path) -> Iterator[str]:
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(proc, port, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        kill_tree(proc.pid)
        proc.wait(timeout=10)


@contextmanager
def httpbin(folder: Path) -> Iterator[str]:
    """httpbin 0.10 under gunicorn; yields its origin."""
    gunicorn = SERVERS_VENV / "bin" / "gunicorn"
    if not gunicorn.exists():
        _missing("httpbin (in .venv/servers)")
    port = free_port()
    command = [str(gunicorn), "--bind", f"127.0.0.1:{port}", "--workers", "1", "httpbin:app"]
    with _serving(command, port, folder / "httpbin.log", folder) as origin:
        yield origin


def sha_htpasswd(user: str, password: str) -> str:
    """An htpasswd line with nginx's `{SHA}` scheme (base64 of SHA-1; fine for a test's password)."""
    digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
    return f"{user}:{{SHA}}{digest}\n"


def nginx_command(prefix: Path, port: int, server: str, http: str = "") -> list[str]:
    """Write `prefix/nginx.conf` (not a daemon, one process, every path under `prefix`) with one server
    on 127.0.0.1:`port` whose body is `server`, `http` at the http level; the command that runs it.

    Written again with the same port and nginx restarted, it is the user's "edit the config, reload".
    """
    if not Path(NGINX).exists():
        _missing("nginx")
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = "".join(f"    {kind}_temp_path {prefix / kind};\n" for kind in kinds)
    body = "".join(f"        {line}\n" if line.strip() else "\n" for line in server.strip("\n").splitlines())
    extra = "".join(f"    {line}\n" for line in http.strip("\n").splitlines())
    (prefix / "nginx.conf").write_text(
        f"""daemon off;
master_process off;
pid {prefix / "nginx.pid"};
error_log {prefix / "logs" / "error.log"} warn;
events {{ worker_connections 64; }}
http {{
    include {MIME_TYPES};
    access_log {prefix / "logs" / "access.log"};
{temp}{extra}    server {{
        listen 127.0.0.1:{port};
{body}    }}
}}
""",
        encoding="utf-8",
    )
    logs = prefix / "logs"
    return [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(logs / "error.log")]


@contextmanager
def nginx_auth_basic(folder: Path, user: str = "user", password: str = "passwd") -> Iterator[str]:
    """nginx (not a daemon, its own prefix) with `/` open and `/api/items.json` behind `auth_basic`."""
    prefix = folder / "nginx"
    (prefix / "html" / "api").mkdir(parents=True)
    (prefix / "htpasswd").write_text(sha_htpasswd(user, password), encoding="utf-8")
    (prefix / "html" / "api" / "items.json").write_text('{"items": []}', encoding="utf-8")
    port = free_port()
    command = nginx_command(
        prefix,
        port,
        f"""
default_type text/html;
location = / {{ return 200 "<!doctype html><title>app</title><h1>app</h1>"; }}
# A static file, not `return`: `return` answers in the rewrite phase, before auth_basic runs.
location /api/ {{
    auth_basic "nginx api";
    auth_basic_user_file {prefix / "htpasswd"};
    root {prefix / "html"};
}}
""",
    )
    with _serving(command, port, prefix / "logs" / "stdout.log", prefix) as origin:
        yield origin
