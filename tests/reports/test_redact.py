"""Redaction of real Playwright artifacts (trace zip, HAR) and the independent secret scan."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from loginprobe.reports.redact import SecretHit, redact_artifacts, scan_for_secrets
from loginprobe.secrets import FINGERPRINT_RE, Redactor
from tests.reports.reports_site import API_KEY, BEARER, PASSWORD, SECRETS, SESSION


def _members(path: Path) -> list[tuple[str, int]]:
    with zipfile.ZipFile(path) as archive:
        return [(info.filename, info.compress_type) for info in archive.infolist()]


@pytest.mark.browser
def test_real_trace_and_har_lose_every_secret(artifacts: Path, tmp_path: Path) -> None:
    # Given a real Chromium login recorded by Playwright (form POST with a password, a session cookie,
    # a bearer header and an api key in a query string), and a redactor told none of them
    run = artifacts / "shop-chromium-fresh"
    assert {hit.secret_index for hit in scan_for_secrets(artifacts, SECRETS)} == {0, 1, 2, 3}
    names_before = [name for name, _ in _members(run / "trace.zip")]
    shot_before = (run / "failure.png").read_bytes()

    # When the folder is redacted
    redact_artifacts(artifacts, Redactor(key_path=tmp_path / "key"))

    # Then no form of any secret is left anywhere, trace members included
    assert scan_for_secrets(artifacts, SECRETS) == []
    members = _members(run / "trace.zip")
    assert [name for name, _ in members] == names_before
    assert {kind for _, kind in members} == {zipfile.ZIP_DEFLATED}
    with zipfile.ZipFile(run / "trace.zip") as archive:
        assert archive.testzip() is None
        events = [json.loads(line) for line in archive.read("trace.trace").decode().splitlines() if line]
    assert any(e.get("method") == "fill" for e in events)
    assert (run / "failure.png").read_bytes() == shot_before

    har = json.loads((run / "network.har").read_text(encoding="utf-8"))
    requests = [entry["request"] for entry in har["log"]["entries"]]
    headers = {h["name"].lower(): h["value"] for r in requests for h in r["headers"]}
    assert FINGERPRINT_RE.fullmatch(headers["authorization"].removeprefix("Bearer "))
    assert FINGERPRINT_RE.fullmatch(headers["cookie"].removeprefix("session="))
    post = next(r for r in requests if r["method"] == "POST")
    assert "username=alice" in post["postData"]["text"]
    assert not any(f.endswith(".tmp") for f in map(str, artifacts.rglob("*")))


@pytest.mark.browser
def test_redaction_is_idempotent(artifacts: Path, tmp_path: Path) -> None:
    redactor = Redactor(key_path=tmp_path / "key")
    redact_artifacts(artifacts, redactor)
    snapshot = {p: p.read_bytes() for p in artifacts.rglob("*") if p.is_file()}
    redact_artifacts(artifacts, Redactor(key_path=tmp_path / "key"))
    assert {p: p.read_bytes() for p in artifacts.rglob("*") if p.is_file()} == snapshot


def test_disabled_redactor_leaves_files_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text(f"password={PASSWORD}", encoding="utf-8")
    redact_artifacts(tmp_path, Redactor([PASSWORD], enabled=False, key_path=tmp_path / "key"))
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == f"password={PASSWORD}"


def test_known_secrets_are_replaced_in_text_files_and_nested_zips(tmp_path: Path) -> None:
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.writestr("resources/page.html", f"<input value='{PASSWORD}'>")
    outer = io.BytesIO()
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("inner.zip", inner.getvalue())
        archive.writestr("trace.stacks", json.dumps({"token": BEARER}))
    (tmp_path / "bundle.zip").write_bytes(outer.getvalue())
    (tmp_path / "log.log").write_text(f"GET /?k={quote(API_KEY)}", encoding="utf-8")
    assert len(scan_for_secrets(tmp_path, SECRETS)) == 3
    redact_artifacts(tmp_path, Redactor([PASSWORD, BEARER, API_KEY], key_path=tmp_path / "key"))
    assert scan_for_secrets(tmp_path, SECRETS) == []


def test_har_fields_are_registered_and_replaced_everywhere(tmp_path: Path) -> None:
    entry = {
        "request": {
            "method": "POST",
            "url": f"https://shop.example/login?api_key={API_KEY}",
            "headers": [
                {"name": "Proxy-Authorization", "value": "Basic " + base64.b64encode(b"bob:s3cr3t!").decode()}
            ],
            "cookies": [{"name": "session", "value": SESSION}],
            "queryString": [{"name": "api_key", "value": API_KEY}],
            "postData": {
                "mimeType": "application/x-www-form-urlencoded",
                "text": f"user=bob&password={quote(PASSWORD)}",
                "params": [{"name": "password", "value": PASSWORD}],
            },
        },
        "response": {
            "headers": [{"name": "Set-Cookie", "value": f"session={SESSION}; Path=/"}],
            "cookies": [],
        },
    }
    (tmp_path / "network.har").write_text(json.dumps({"log": {"entries": [entry]}}), encoding="utf-8")
    # A text file elsewhere repeats the values: registration from the HAR must reach it too.
    (tmp_path / "notes.md").write_text(f"{SESSION} {PASSWORD} s3cr3t!", encoding="utf-8")
    redact_artifacts(tmp_path, Redactor(key_path=tmp_path / "key"))
    assert scan_for_secrets(tmp_path, [*SECRETS, "s3cr3t!"]) == []
    json.loads((tmp_path / "network.har").read_text(encoding="utf-8"))


@pytest.mark.parametrize("prefix", [b"", b"x", b"xy", b"xyz:"])
def test_scan_finds_base64_at_any_alignment(tmp_path: Path, prefix: bytes) -> None:
    (tmp_path / "body.json").write_bytes(
        b'{"b": "' + base64.b64encode(prefix + PASSWORD.encode() + b"!") + b'"}'
    )
    hits = scan_for_secrets(tmp_path, [PASSWORD])
    assert [hit.form for hit in hits] == ["base64"]


def test_scan_reports_forms_and_never_the_secret(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(quote(PASSWORD, safe=""), encoding="utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"v": 'he said "' + BEARER + '"'}), encoding="utf-8")
    hits = scan_for_secrets(tmp_path, [PASSWORD, BEARER])
    assert SecretHit(path="a.txt", member=None, form="url-encoded", secret_index=0) in hits
    assert any(hit.path == "b.json" and hit.secret_index == 1 for hit in hits)
    assert all(PASSWORD not in repr(hit) and BEARER not in repr(hit) for hit in hits)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"playwright show-trace never listened on port {port}")


@pytest.mark.browser
def test_redacted_trace_opens_in_playwright_show_trace(
    artifacts: Path, tmp_path: Path, chromium_options: dict[str, Any]
) -> None:
    from playwright.sync_api import sync_playwright

    redact_artifacts(artifacts, Redactor(key_path=tmp_path / "key"))
    trace = artifacts / "shop-chromium-fresh" / "trace.zip"
    port = _free_port()
    viewer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "playwright",
            "show-trace",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            str(trace),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # `python -m playwright` serves from a node child: stop the whole group
    )
    try:
        _wait_for_port(port)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(**chromium_options)
            try:
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                action = page.get_by_text(re.compile(r"^Fill \"‹secret:[0-9a-f]{8}›\"$"))
                action.wait_for(timeout=20_000)
                assert PASSWORD not in page.content()
            finally:
                browser.close()
    finally:
        os.killpg(viewer.pid, signal.SIGTERM)
        viewer.wait(timeout=10)
