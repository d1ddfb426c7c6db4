"""nginx with two `auth_basic` realms: a URL with a typo lands in the wrong one (issue 10).

Given nginx serving `/staff/` in the realm "staff" (alice's password works) and `/staff/admin/` in
the realm "admin" (another user's file), when the configured URL is `/staff/admin/` where the user
meant `/staff/`, then the right credentials are refused there, loginprobe tries them at the parent
paths, finds the realm that accepts them, and says `wrong-url`. The control (`/staff/`) is `none`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.faults.report_access import only_report
from tests.faults.servers import cli_env, run_cli
from tests.faults.third_party import _serving, free_port, nginx_command, sha_htpasswd

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PASSWORD = "staff-pass-4417"


@contextmanager
def nginx_two_realms(folder: Path) -> Iterator[str]:
    """nginx (not a daemon, its own prefix) with the realms "staff" and, nested in it, "admin"."""
    prefix = folder / "nginx"
    for page in ("staff", "staff/admin"):
        (prefix / "html" / page).mkdir(parents=True)
        (prefix / "html" / page / "index.html").write_text(f"<h1>{page}</h1>", encoding="utf-8")
    (prefix / "staff.htpasswd").write_text(sha_htpasswd("alice", PASSWORD), encoding="utf-8")
    (prefix / "admin.htpasswd").write_text(sha_htpasswd("root", "other-pass-9"), encoding="utf-8")
    port = free_port()
    server = f"""
root {prefix / "html"};
location = / {{ return 200 "<!doctype html><title>intranet</title>"; }}
location /staff/ {{
    auth_basic "staff";
    auth_basic_user_file {prefix / "staff.htpasswd"};
}}
location /staff/admin/ {{
    auth_basic "admin";
    auth_basic_user_file {prefix / "admin.htpasswd"};
}}
"""
    command = nginx_command(prefix, port, server)
    with _serving(command, port, prefix / "logs" / "stdout.log", prefix) as origin:
        yield origin


@pytest.mark.parametrize(("path", "expected"), [("/staff/admin/", "wrong-url"), ("/staff/", "none")])
def test_a_url_in_another_realm_is_wrong_url(path: str, expected: str, tmp_path: Path) -> None:
    output = tmp_path / "out"
    with nginx_two_realms(tmp_path) as origin:
        result = run_cli(
            "check", "--url", f"{origin}{path}", "--flow", "basic", "--username", "alice",
            "--password-env", "REALM_PASSWORD", "--name", "intranet", "-m", "fresh", "--no-ablate",
            "-b", "chromium", "-b", "firefox", "-o", str(output),
            cwd=tmp_path, env=cli_env(REALM_PASSWORD=PASSWORD), timeout=240,
        )  # fmt: skip
    assert result.code == (1 if expected != "none" else 0), result.stdout + result.stderr
    _, report = only_report(output)
    verdict = report["verdicts"][0]
    assert verdict["primary"] == expected, verdict["summary"]
    if expected == "wrong-url":
        assert "staff" in verdict["summary"] and "admin" in verdict["summary"]  # both realms named
        assert f"{origin}/staff/" in verdict["summary"]
