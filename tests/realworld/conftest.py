"""Fixtures for the real-software suite: each server is installed by scripts/setup and started here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.third_party import nginx_command
from tests.realworld.servers import APPS, PASSWORD, Service, free_port, running

DJANGO_SITE = APPS / "django_site"
VENV_BIN = Path(sys.executable).parent


def django_env(db: Path, secret_key: str, **extra: str) -> dict[str, str]:
    return {
        "DJANGO_SETTINGS_MODULE": "django_site.settings",
        "DJANGO_SECRET_KEY": secret_key,
        "DJANGO_DB": str(db),
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    }


def manage(db: Path, *args: str, **env: str) -> str:
    """`manage.py <args>` of the test project against the SQLite file `db`."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=DJANGO_SITE,
        env={**os.environ, **django_env(db, "manage-only-key"), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


@pytest.fixture(scope="session")
def django_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with the user alice (Django's own commands), copied by each server."""
    pytest.importorskip("django", reason="Django is installed by scripts/setup (test extras)")
    db = tmp_path_factory.mktemp("django-template") / "db.sqlite3"
    manage(db, "migrate", "--verbosity", "0")
    manage(
        db, "createsuperuser", "--noinput", "--username", "alice", "--email", "alice@example.com",
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
    )  # fmt: skip
    return db


@contextmanager
def django_server(
    folder: Path, template_db: Path, secret_key: str, ready_path: str = "/accounts/login/", **env: str
) -> Iterator[Service]:
    """The test project under gunicorn on 127.0.0.1, with its own copy of the database; it is up once
    `ready_path` answers (/healthz where every other path redirects to https)."""
    db = folder / "db.sqlite3"
    shutil.copy(template_db, db)
    port = free_port()
    service = Service(
        name="gunicorn (Django)",
        argv=[
            str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--no-control-socket", "--access-logfile", "-", "django_site.wsgi",
        ],
        ready_url=f"http://127.0.0.1:{port}{ready_path}",
        log=folder / "gunicorn.log",
        cwd=DJANGO_SITE,
        env=django_env(db, secret_key, **env),
    )  # fmt: skip
    with running(service):
        yield service


VARNISH_VCL = Path(__file__).resolve().parent / "varnish"


@contextmanager
def varnish_server(folder: Path, vcl: str, backend: Service) -> Iterator[Service]:
    """Debian's varnishd in the foreground on 127.0.0.1, in front of `backend`, with its own work folder.

    `-j none` keeps it as the user who started it (no jail) and `-n` gives it its own folder, so it
    never touches a system instance; `-T none` opens no management port.
    """
    varnishd = shutil.which("varnishd") or "/usr/sbin/varnishd"
    if not Path(varnishd).exists():
        pytest.skip("varnishd is installed by scripts/setup (Debian package varnish)")
    port = free_port()
    backend_port = backend.origin.rsplit(":", 1)[1]
    config = folder / vcl
    config.write_text((VARNISH_VCL / vcl).read_text(encoding="utf-8").replace("${APP_PORT}", backend_port))
    service = Service(
        name="varnishd",
        argv=[
            varnishd, "-F", "-j", "none", "-a", f"127.0.0.1:{port}", "-T", "none", "-f", str(config),
            "-n", str(folder / "varnish-work"), "-s", "malloc,32m",
        ],
        ready_url=f"http://127.0.0.1:{port}/accounts/login/",
        log=folder / "varnishd.log",
    )  # fmt: skip
    with running(service):
        yield service


@contextmanager
def nginx_server(folder: Path, server: str, http: str = "", ready_path: str = "/") -> Iterator[Service]:
    """Debian's nginx in the foreground on 127.0.0.1 with one server block (`server` is its body, `http`
    goes at the http level), its prefix, logs and files under `folder / "nginx"`; it is up once
    `ready_path` answers (a server that redirects everything elsewhere needs a path it answers itself)."""
    port = free_port()
    prefix = folder / "nginx"
    service = Service(
        name="nginx",
        argv=nginx_command(prefix, port, server, http),
        ready_url=f"http://127.0.0.1:{port}{ready_path}",
        log=prefix / "logs" / "stdout.log",
        cwd=prefix,
    )
    with running(service):
        yield service


def reconfigure_nginx(service: Service, server: str, http: str = "") -> None:
    """What a user does to change the site: edit nginx.conf, then restart nginx on the same address."""
    prefix = Path(service.argv[service.argv.index("-p") + 1])
    nginx_command(prefix, int(service.origin.rsplit(":", 1)[1]), server, http)
    service.restart()


JSON_SERVER = Path(__file__).resolve().parent / "json_server"


@contextmanager
def json_server_auth(folder: Path) -> Iterator[Service]:
    """json-server with json-server-auth (npm) on 127.0.0.1: the SPA in public/, the user alice."""
    binary = JSON_SERVER / "node_modules" / ".bin" / "json-server-auth"
    if not binary.exists():
        pytest.skip("json-server-auth is installed by scripts/setup (npm ci in tests/realworld/json_server)")
    db = folder / "db.json"
    shutil.copy(JSON_SERVER / "db.json", db)
    port = free_port()
    service = Service(
        name="json-server-auth",
        argv=[
            str(binary), str(db), "--host", "127.0.0.1", "--port", str(port),
            "--static", "public", "--quiet",
        ],
        ready_url=f"http://127.0.0.1:{port}/index.html",
        log=folder / "json-server.log",
        cwd=JSON_SERVER,  # json-server joins --static to its working folder, even an absolute path
    )  # fmt: skip
    with running(service):
        register = urllib.request.Request(
            f"{service.origin}/register",
            data=json.dumps({"email": "alice@example.com", "password": PASSWORD}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(register, timeout=10) as response:
            assert response.status == 201
        yield service
