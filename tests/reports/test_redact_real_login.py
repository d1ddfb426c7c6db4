"""A real `loginprobe check` of a site whose secrets look like ordinary words: every artifact still parses.

The site sets `cookie_consent=true` and a session cookie and takes the password `test` (or `password`).
Whole-file text replacement turned `"available": true` into a fingerprint (invalid JSON), `<testsuites>`
into `<‹secret:…›suites>`, and showed `password` as a fingerprint in `credentials_configured`.
"""

from __future__ import annotations

import json
import secrets
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from loginprobe.secrets import FINGERPRINT_RE
from tests.conftest import require_engine
from tests.faults.servers import cli_env, run_cli
from tests.reports.artifact_parse import artifact_kinds, artifact_problems

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SESSION = "s" + secrets.token_hex(16)
LOGIN_PAGE = b"""<!doctype html><title>Sign in</title>
<p>Cookies: we use one test cookie, true story.</p>
<form method="post" action="/login">
  <input name="username" autocomplete="username">
  <input name="password" type="password">
  <button type="submit">Sign in</button>
</form>"""


@contextmanager
def consent_site(password: str) -> Iterator[str]:
    """/login sets cookie_consent=true; the right password gets a session cookie; /account wants it."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass  # the assertions say what happened

        def _send(self, status: int, body: bytes, kind: str, extra: tuple[tuple[str, str], ...] = ()) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in extra:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path.startswith("/login"):
                self._send(200, LOGIN_PAGE, "text/html", (("Set-Cookie", "cookie_consent=true; Path=/"),))
            elif self.path.startswith("/account"):
                if f"session={SESSION}" in (self.headers.get("Cookie") or ""):
                    body = json.dumps({"available": True, "plan": None, "user": "alice"}).encode()
                    self._send(200, body, "application/json")
                else:
                    self._send(401, b'{"error": "sign in"}', "application/json")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self) -> None:
            form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
            if form.get("password") == [password]:
                cookie = f"session={SESSION}; Path=/; HttpOnly; SameSite=Lax"
                self._send(303, b"", "text/plain", (("Location", "/account"), ("Set-Cookie", cookie)))
            else:
                self._send(401, b"wrong password", "text/plain")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("password", ["test", "password"])
def test_check_of_a_site_with_word_like_secrets_writes_artifacts_that_parse(
    password: str, tmp_path: Path, engine_status: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_engine(engine_status, "chromium")
    env = cli_env(LP_PASSWORD=password, HOME=str(tmp_path / "home"))
    output = tmp_path / "reports"
    with consent_site(password) as base:
        # Given a real Chromium form login against the site above
        result = run_cli(
            "check", "--url", f"{base}/login", "--flow", "form", "--protected-url", f"{base}/account",
            "--username", "alice", "--password-env", "LP_PASSWORD",
            "-b", "chromium", "-m", "fresh", "--no-ablate", "-o", str(output),
            cwd=tmp_path, env=env, timeout=120,
        )  # fmt: skip
    assert result.code == 0, result.stderr
    (folder,) = [p for p in output.iterdir() if p.is_dir() and not p.is_symlink()]

    # Then every artifact parses: report.json as a Report, HAR, every trace line, junit.xml, report.html
    assert artifact_kinds(folder) >= {"report.json", "report.html", "junit.xml", ".har", ".zip"}
    assert artifact_problems(folder) == []

    # and ordinary values stayed what they were, while the secrets went where they stood
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    (run,) = report["runs"]
    assert run["expectations"]["credentials_configured"] == ["username", "password"]
    har = json.loads((folder / run["artifacts"]["har"]).read_text(encoding="utf-8"))
    requests = [entry["request"] for entry in har["log"]["entries"]]
    cookies = [h["value"] for r in requests for h in r["headers"] if h["name"].lower() == "cookie"]
    assert any("cookie_consent=true" in value for value in cookies)
    assert all(SESSION not in value for value in cookies)
    assert any(FINGERPRINT_RE.search(value) for value in cookies)
    (post,) = [r for r in requests if r["method"] == "POST"]
    assert post["postData"]["text"].startswith("username=alice&password=‹secret:")
    account = next(e for e in har["log"]["entries"] if e["request"]["url"].endswith("/account"))
    body = json.loads(account["response"]["content"]["text"])
    assert body == {"available": True, "plan": None, "user": "alice"}
    with zipfile.ZipFile(folder / run["artifacts"]["trace"]) as trace:
        events = [json.loads(line) for line in trace.read("trace.trace").decode().splitlines() if line]
    fills = [e["params"]["value"] for e in events if e.get("method") == "fill"]
    assert "alice" in fills and password not in fills and any(FINGERPRINT_RE.fullmatch(v) for v in fills)
    assert f'fill("{password}")' not in json.dumps(events, ensure_ascii=False)
    junit = (folder / "junit.xml").read_text(encoding="utf-8")
    assert "<testsuites" in junit

    # and the report folder is still one loginprobe can read
    for command in (("report", str(folder)), ("bundle", str(folder), "-o", str(tmp_path / "b.zip"))):
        done = run_cli(*command, cwd=tmp_path, env=env)
        assert done.code == 0, (command, done.stderr)
    compared = run_cli("compare", str(folder), str(folder), cwd=tmp_path, env=env)
    assert compared.code == 0, compared.stderr
    assert artifact_problems(folder) == []  # `report` re-rendered the folder: still parses
