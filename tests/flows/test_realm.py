"""Realm probes (flows/realm.py) and the wrong-url-by-realm verdict, on a real HTTP server with two
Basic realms and two Digest realms (issue 10 item 3).

The server: `/staff/` is the realm "staff" (alice's password works), `/staff/admin/` the realm "admin"
(only another user), `/vault/` the Digest realm "vault" (alice), `/vault/deep/` the Digest realm
"deep" (nobody), `/` is public.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from base64 import b64decode
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from werkzeug.http import parse_dict_header

from loginprobe.config.settings import Site
from loginprobe.evidence import REALM_PROBE, Engine, EngineStatus, Exchange
from loginprobe.flows.realm import candidate_urls, probe_realms
from loginprobe.secrets import Redactor
from tests.conftest import require_engine
from tests.evidence_factory import make_exchange
from tests.faults.servers import cli_env, report_folders, run_cli

USER = "alice"
PASSWORD = "realm-pass-4q9z"
PASSWORD_ENV = "REALM_TEST_PASSWORD"


# path prefix -> (realm, users); the longest prefix comes first.
BASIC_AREAS = {"/staff/admin/": ("admin", {"root": "other"}), "/staff/": ("staff", {USER: PASSWORD})}
DIGEST_AREAS: dict[str, tuple[str, dict[str, str]]] = {
    "/vault/deep/": ("deep", {}),
    "/vault/": ("vault", {USER: PASSWORD}),
}


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class _Realms(BaseHTTPRequestHandler):
    """Two Basic and two Digest realms; each area accepts its own users only."""

    def log_message(self, *args: object) -> None:  # keep pytest's output clean
        pass

    def _send(self, status: int, body: str, challenge: str | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if challenge:
            self.send_header("WWW-Authenticate", challenge)
        self.end_headers()
        self.wfile.write(data)

    def _basic_ok(self, users: dict[str, str]) -> bool:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return False
        user, _, password = b64decode(value).decode(errors="replace").partition(":")
        return users.get(user) == password

    def _digest_ok(self, realm: str, users: dict[str, str]) -> bool:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "digest":
            return False
        p = parse_dict_header(value)
        password = users.get(p.get("username") or "")
        if password is None or p.get("realm") != realm:
            return False
        ha1 = _md5(f"{p['username']}:{realm}:{password}")
        ha2 = _md5(f"GET:{p['uri']}")
        expected = _md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}")
        return secrets.compare_digest(expected, p.get("response") or "")

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        for prefix, (realm, users) in BASIC_AREAS.items():
            if path.startswith(prefix):
                if self._basic_ok(users):
                    return self._send(200, f"welcome to {realm}")
                return self._send(401, "who are you?", f'Basic realm="{realm}", charset="UTF-8"')
        for prefix, (realm, users) in DIGEST_AREAS.items():
            if path.startswith(prefix):
                if self._digest_ok(realm, users):
                    return self._send(200, f"welcome to {realm}")
                nonce = secrets.token_hex(8)
                return self._send(401, "who are you?", f'Digest realm="{realm}", qop="auth", nonce="{nonce}"')
        return self._send(200, "public home")


@pytest.fixture(scope="module")
def realms() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Realms)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def engines(engine_status: dict[Engine, EngineStatus]) -> None:
    for engine in ("chromium", "firefox"):
        require_engine(engine_status, engine)  # type: ignore[arg-type]


def _site(url: str, flow: str = "basic", password: str = PASSWORD) -> Site:
    return Site(name="realms", url=url, flow=flow, credentials={"username": USER, "password": password})


def _refused(url: str) -> list[Exchange]:
    return [make_exchange(0, url, status=401)]


def test_candidates_are_the_parents_then_the_root() -> None:
    assert candidate_urls("http://h:1/a/b/c") == ["http://h:1/a/b/", "http://h:1/a/", "http://h:1/"]
    assert candidate_urls("http://h:1/staff/admin/") == ["http://h:1/staff/", "http://h:1/"]
    assert candidate_urls("http://h:1/") == []


def test_basic_probe_finds_the_realm_that_accepts(realms: str) -> None:
    target = f"{realms}/staff/admin/"
    redactor = Redactor()
    found = probe_realms(_site(target), _refused(target), redactor)
    assert all(ex.resource_type == REALM_PROBE for ex in found)
    assert [ex.id for ex in found] == list(range(1, len(found) + 1))
    anonymous, answered = found[0], found[1]
    assert anonymous.url == f"{realms}/staff/" and anonymous.authorization is None
    assert anonymous.challenges[0].realm == "staff"
    assert answered.status == 200 and answered.authorization is not None
    assert answered.authorization.scheme == "Basic" and answered.authorization.identity == USER
    # The root has no challenge: asked once, without credentials.
    assert [ex.url for ex in found[2:]] == [f"{realms}/"] and found[2].status == 200
    assert PASSWORD not in json.dumps([ex.model_dump(mode="json") for ex in found])


def test_digest_probe_answers_the_digest_challenge(realms: str) -> None:
    target = f"{realms}/vault/deep/"
    found = probe_realms(_site(target, "digest"), _refused(target), Redactor())
    answered = [ex for ex in found if ex.authorization is not None]
    assert answered and answered[0].url == f"{realms}/vault/"
    assert answered[0].authorization.scheme == "Digest" and answered[0].status == 200  # type: ignore[union-attr]


def test_no_probe_unless_refused_or_for_other_flows(realms: str) -> None:
    target = f"{realms}/staff/"
    assert probe_realms(_site(target), [make_exchange(0, target, status=200)], Redactor()) == []
    assert probe_realms(_site(target, "form"), _refused(target), Redactor()) == []


# -- the whole check, in real browsers -----------------------------------------------------------


def _check(tmp_path: Path, url: str, flow: str, engines: list[str], password: str = PASSWORD) -> dict:
    output = tmp_path / "out"
    args = ["check", "--url", url, "--flow", flow, "--username", USER, "--password-env", PASSWORD_ENV]
    args += ["-m", "fresh", "--no-ablate", "-o", str(output), "--name", "realms"]
    args += [arg for engine in engines for arg in ("-b", engine)]
    result = run_cli(*args, cwd=tmp_path, env=cli_env(**{PASSWORD_ENV: password}), timeout=180)
    assert result.code in (0, 1), result.stderr
    (folder,) = report_folders(output)
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    (verdict,) = report["verdicts"]
    return dict(verdict)


@pytest.mark.browser
@pytest.mark.usefixtures("engines")
def test_a_url_in_another_basic_realm_is_wrong_url_in_both_engines(realms: str, tmp_path: Path) -> None:
    # Given the URL /staff/admin/ (meant: /staff/), whose realm "admin" refuses alice,
    # when both engines are refused there, then the verdict names both realms and the URL that works.
    verdict = _check(tmp_path, f"{realms}/staff/admin/", "basic", ["chromium", "firefox"])
    assert verdict["primary"] == "wrong-url", verdict["summary"]
    assert 'realm "admin"' in verdict["summary"] and 'realm "staff"' in verdict["summary"]
    assert f"{realms}/staff/" in verdict["summary"]
    assert "invalid-credentials" not in verdict["contributing"]


@pytest.mark.browser
@pytest.mark.usefixtures("engines")
def test_control_the_right_realm_is_none(realms: str, tmp_path: Path) -> None:
    verdict = _check(tmp_path, f"{realms}/staff/", "basic", ["chromium", "firefox"])
    assert verdict["primary"] == "none", verdict["summary"]


@pytest.mark.browser
@pytest.mark.usefixtures("engines")
def test_a_wrong_password_is_still_invalid_credentials(realms: str, tmp_path: Path) -> None:
    verdict = _check(tmp_path, f"{realms}/staff/", "basic", ["chromium"], password="not-the-password")
    assert verdict["primary"] == "invalid-credentials", verdict["summary"]


@pytest.mark.browser
@pytest.mark.usefixtures("engines")
def test_a_url_in_another_digest_realm_is_wrong_url(realms: str, tmp_path: Path) -> None:
    # Chromium answers Digest (Firefox over BiDi never does: an engine limit, reported apart).
    verdict = _check(tmp_path, f"{realms}/vault/deep/", "digest", ["chromium"])
    assert verdict["primary"] == "wrong-url", verdict["summary"]
    assert 'realm "deep"' in verdict["summary"] and 'realm "vault"' in verdict["summary"]
