"""Debian's Apache httpd as a test server: one foreground process with its own minimal config on a free
127.0.0.1 port, its pages, password files, logs and pid in a server root of its own (never the system
instance or /etc/apache2)."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.faults.third_party import _missing  # CI fails on a missing server, a developer skips
from tests.realworld.servers import Service, free_port, running

APACHE2 = shutil.which("apache2") or "/usr/sbin/apache2"
MODULES = Path("/usr/lib/apache2/modules")
HTPASSWD = shutil.which("htpasswd") or "/usr/bin/htpasswd"
# Enough for every case here; each `LoadModule` is a module Debian's apache2 package ships.
BASE_MODULES = (
    "mpm_event", "authn_core", "authn_file", "authz_core", "authz_user", "authz_groupfile",
    "authz_host", "auth_basic", "auth_digest", "alias", "dir", "mime", "headers", "rewrite",
    "proxy", "proxy_http", "setenvif", "session", "session_cookie", "request", "auth_form",
)  # fmt: skip


def htpasswd(path: Path, user: str, password: str) -> None:
    """Add `user` to the htpasswd file at `path` (bcrypt, the way a user runs `htpasswd -B`)."""
    if not Path(HTPASSWD).exists():
        _missing("htpasswd")
    create = [] if path.exists() else ["-c"]
    subprocess.run(
        [HTPASSWD, *create, "-b", "-B", str(path), user, password], check=True, capture_output=True
    )


def htdigest(path: Path, realm: str, user: str, password: str) -> None:
    """Add `user` in `realm` to the htdigest file at `path` (what `htdigest` writes: MD5 of user:realm:pw)."""
    # `htdigest` only reads the password from a terminal; its file line is exactly this.
    digest = hashlib.md5(f"{user}:{realm}:{password}".encode()).hexdigest()
    with path.open("a", encoding="utf-8") as out:
        out.write(f"{user}:{realm}:{digest}\n")


def apache_conf(root: Path, port: int, body: str, modules: tuple[str, ...] = BASE_MODULES) -> str:
    """A whole httpd.conf: the modules, the listener, logs in `root`, then the case's own `body`."""
    loads = "".join(f"LoadModule {m}_module {MODULES / f'mod_{m}.so'}\n" for m in modules)
    return f"""{loads}ServerRoot {root}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {root / "httpd.pid"}
ErrorLog {root / "error.log"}
DefaultRuntimeDir {root}
# Only the scheme of the credential headers: enough to see what arrived, never the secret.
SetEnvIf Authorization "^(\\S+)" auth_scheme=$1
SetEnvIf Proxy-Authorization "^(\\S+)" proxy_auth_scheme=$1
LogFormat "%h %u \\"%r\\" %>s auth=%{{auth_scheme}}e proxy-auth=%{{proxy_auth_scheme}}e" probe
CustomLog {root / "access.log"} probe
User www-data
Group www-data
DocumentRoot {root / "htdocs"}
TypesConfig /etc/mime.types
DirectoryIndex index.html
<Directory {root / "htdocs"}>
    Require all granted
</Directory>
{body}
"""


def page(root: Path, path: str, title: str) -> None:
    """A small HTML page at `path` under the document root."""
    file = root / "htdocs" / path.lstrip("/")
    if path.endswith("/"):
        file = file / "index.html"
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(f"<!doctype html><title>{title}</title><h1>{title}</h1>", encoding="utf-8")


@contextmanager
def apache_root() -> Iterator[Path]:
    """A server root the www-data workers can read (pytest's tmp folders are private to root): htdocs/,
    the password files a config names, and the logs; removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="loginprobe-apache-"))
    try:
        root.chmod(0o755)
        (root / "htdocs").mkdir()
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def apache_server(root: Path, body: str, port: int | None = None) -> Iterator[Service]:
    """apache2 in the foreground (`-DFOREGROUND`, not a daemon) on `root` with `body` after the base config.

    The Debian binary runs without /etc/apache2: `-f` names the whole config, `-d` the server root.
    """
    if not Path(APACHE2).exists():
        _missing("apache2")
    for file in root.rglob("*"):
        file.chmod(0o755 if file.is_dir() else 0o644)  # readable by the workers (www-data)
    port = port or free_port()
    conf = root / "httpd.conf"
    conf.write_text(apache_conf(root, port, body), encoding="utf-8")
    service = Service(
        name="apache2",
        argv=[APACHE2, "-d", str(root), "-f", str(conf), "-DFOREGROUND"],
        ready_url=f"http://127.0.0.1:{port}/",
        log=root / "stdout.log",
    )
    with running(service):
        yield service


def access_log(folder: Path) -> list[str]:
    """The lines of the server's access log (`%h %u "%r" %>s "Authorization" "Proxy-Authorization"`)."""
    log = folder / "access.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []
