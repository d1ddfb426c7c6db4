"""Redaction properties: whatever the secrets look like, every artifact still parses and holds none of them.

The artifacts are a real Chromium login recorded by Playwright (trace.zip, network.har; the `recorded`
fixture) whose password and session cookie are swapped, field by field, for values hypothesis draws,
next to report.json/report.html/junit.xml rendered from a report whose free text quotes them. Secrets
include what broke whole-file replacement: `true`, `null`, `test`, `password`, short numbers, `<a>`.
"""

from __future__ import annotations

import io
import json
import shutil
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from loginprobe.reports import render_all
from loginprobe.reports.redact import redact_artifacts, scan_for_secrets
from loginprobe.secrets import FINGERPRINT_RE, Redactor, markup, ordinary
from loginprobe.secrets import structure as by_structure
from tests.reports.artifact_parse import artifact_problems, html_problems
from tests.reports.report_factory import make_report
from tests.reports.reports_site import API_KEY, BEARER, PASSWORD, SESSION

WORDS = ["true", "false", "null", "test", "password", "alice", "1", "42", "0", "2025", "<a>", "<ab>", "a&b"]
# RFC 6265 cookie-octets: no whitespace, DQUOTE, comma, semicolon or backslash.
COOKIE_CHARS = st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='",;\\')
passwords = st.one_of(
    st.sampled_from(WORDS),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x24F, exclude_categories=("Cs",)), min_size=1),
)
cookie_values = st.one_of(
    st.sampled_from(["true", "null", "test", "1", "42", "<a>"]), st.text(COOKIE_CHARS, min_size=1)
)
consents = st.sampled_from(["true", "yes", "1", "null", "accepted", "<a>"])

PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
RUN = "shop-chromium-persisted"  # the factory report's run that has artifacts


# -- building the artifacts --------------------------------------------------------------------


def _swap_text(text: str, swaps: list[tuple[str, str]]) -> str:
    for old, new in swaps:
        text = text.replace(old, new)
    return text


def _swaps(password: str, session: str) -> list[tuple[str, str]]:
    """Every form the recorded values travel in, mapped to the same form of the drawn values."""
    # The recorded password has a `!`, so its URL-encoded forms differ from it; the session is sent raw.
    return [
        (quote_plus(PASSWORD), quote_plus(password)),
        (quote(PASSWORD, safe=""), quote(password, safe="")),
        (PASSWORD, password),
        (SESSION, session),
    ]


def _swap_json(data: Any, swap: Callable[[str], str], consent: str) -> Any:
    """Swap in parsed JSON (so any value stays valid JSON), and send/set cookie_consent beside the session."""
    if isinstance(data, str):
        return swap(data)
    if isinstance(data, list):
        return [_swap_json(v, swap, consent) for v in data]
    if isinstance(data, dict):
        out = {k: _swap_json(v, swap, consent) for k, v in data.items()}
        if isinstance(out.get("name"), str) and isinstance(out.get("value"), str):
            if out["name"].lower() == "cookie":
                out["value"] = f"cookie_consent={consent}; {out['value']}"
            elif out["name"].lower() == "set-cookie":
                out["value"] = f"cookie_consent={consent}; Path=/\n{out['value']}"
        return out
    return data


def _swap_trace(blob: bytes, swap: Callable[[str], str], consent: str) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(blob)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith((".trace", ".network")):
                lines = [
                    json.dumps(_swap_json(json.loads(line), swap, consent)) if line.strip() else line
                    for line in data.decode().split("\n")
                ]
                data = "\n".join(lines).encode()
            elif not data.startswith((b"\x89PNG", b"\xff\xd8")):
                data = swap(data.decode()).encode()
            target.writestr(info, data)
    return out.getvalue()


def _report_quoting(password: str, session: str) -> Any:
    """The factory report, its persisted run's free text quoting the secrets, credentials named."""
    report = make_report()
    runs = []
    for run in report.runs:
        if run.run_id == RUN:
            protected = run.exchanges[-1].model_copy(
                update={
                    "body_excerpt": f'{{"error": "wrong password {password}", "hint": "<b>{password}</b>"}}',
                    "url": f"https://shop.example/account?next=/app&code={quote_plus(password)}",
                }
            )
            run = run.model_copy(
                update={
                    "exchanges": [*run.exchanges[:-1], protected],
                    "console_errors": [f"login failed for {password} with {session}"],
                    "expectations": run.expectations.model_copy(
                        update={"credentials_configured": ["username", "password"]}
                    ),
                }
            )
        runs.append(run)
    return report.model_copy(update={"runs": runs})


def _folder(recorded: Path, password: str, session: str, consent: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="redact-property-"))
    swaps = _swaps(password, session)

    def swap(text: str) -> str:
        return _swap_text(text, swaps)

    render_all(_report_quoting(password, session), folder)
    run = folder / RUN
    run.mkdir()
    har = json.loads((recorded / "network.har").read_text(encoding="utf-8"))
    (run / "network.har").write_text(json.dumps(_swap_json(har, swap, consent)), encoding="utf-8")
    (run / "trace.zip").write_bytes(_swap_trace((recorded / "trace.zip").read_bytes(), swap, consent))
    shutil.copy(recorded / "failure.png", run / "failure.png")
    return folder


# -- reading them back -------------------------------------------------------------------------


def _trace_events(folder: Path) -> list[dict[str, Any]]:
    with zipfile.ZipFile(folder / RUN / "trace.zip") as trace:
        return [
            json.loads(line)
            for name in trace.namelist()
            if name.endswith((".trace", ".network"))
            for line in trace.read(name).decode().splitlines()
            if line.strip()
        ]


def _har_requests(folder: Path) -> list[dict[str, Any]]:
    har = json.loads((folder / RUN / "network.har").read_text(encoding="utf-8"))
    return [entry["request"] for entry in har["log"]["entries"]]


def _cookies(header: str) -> dict[str, str]:
    return dict(item.strip().partition("=")[::2] for item in header.split(";") if item.strip())


def _assert_positional_secrets_replaced(folder: Path, password: str, consent: str) -> None:
    """Where a value stands as a secret it is a fingerprint, whatever it looks like; ordinary cookies stay."""
    for request in _har_requests(folder):
        for header in request["headers"]:
            if header["name"].lower() == "cookie":
                sent = _cookies(header["value"])
                assert FINGERPRINT_RE.fullmatch(sent["session"]), sent
                assert sent["cookie_consent"] == consent
        post = request.get("postData")
        if post:
            fields = dict(parse_qsl(post["text"]))
            assert FINGERPRINT_RE.fullmatch(fields["password"]) and fields["username"] == "alice"
            assert all(
                FINGERPRINT_RE.fullmatch(p["value"]) for p in post["params"] if p["name"] == "password"
            )
    events = _trace_events(folder)
    fills = [e["params"] for e in events if e.get("method") == "fill"]
    assert [FINGERPRINT_RE.fullmatch(f["value"]) is not None for f in fills] == [False, True]
    assert f"fill({json.dumps(password)})" not in json.dumps(events)
    inputs = json.dumps([e for e in events if e.get("type") == "frame-snapshot"])
    assert f'"__playwright_value_": {json.dumps(password)}' not in inputs


def _assert_ordinary_text_kept(folder: Path) -> None:
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    run = next(r for r in report["runs"] if r["run_id"] == RUN)
    assert run["expectations"]["credentials_configured"] == ["username", "password"]
    assert report["engines"][0]["available"] is True
    assert ET.fromstring((folder / "junit.xml").read_bytes()).tag == "testsuites"


# -- properties --------------------------------------------------------------------------------


@pytest.mark.browser
@PROPERTY
@given(password=passwords, session=cookie_values, consent=consents)
def test_every_artifact_parses_and_holds_no_secret(
    recorded: Path, password: str, session: str, consent: str
) -> None:
    assume(len({password, session, consent}) == 3 and password.strip() and "\x00" not in password)
    assume(not any(password in w or session in w for w in ("alice", "shop", "username", "password")))
    folder = _folder(recorded, password, session, consent)
    try:
        # Given the secrets the pipeline knows (the configured password, Basic's form of it)
        redactor = Redactor([password], key_path=folder / ".key")
        redactor.add_basic("alice", password)

        # When the folder is redacted (twice: the runner redacts each run, the pipeline the whole folder)
        redact_artifacts(folder, redactor)
        redact_artifacts(folder, redactor)

        # Then everything parses, no secret that can be told from text is left anywhere,
        assert artifact_problems(folder) == []
        assert scan_for_secrets(folder, [password, session, BEARER, API_KEY]) == []
        # secrets that look like words are replaced where they stand, and the words around them stay
        _assert_positional_secrets_replaced(folder, password, consent)
        _assert_ordinary_text_kept(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(WORDS) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from([*WORDS, "token", "url", "name", "value", "note"]), inner, max_size=4
        )
    ),
    max_leaves=12,
)


@PROPERTY
@given(document=json_documents, secret=passwords)
def test_json_keeps_its_shape_keys_and_keywords(document: Any, secret: str) -> None:
    redactor = Redactor([secret], key_path=Path(tempfile.gettempdir()) / "loginprobe-property.key")
    text = json.dumps(document)

    cleaned = by_structure.json_text(text, redactor)

    assert cleaned is not None
    _same_shape(document, json.loads(cleaned))


def _same_shape(before: Any, after: Any) -> None:
    """Same types, same keys, same numbers and keywords: only strings may differ."""
    if isinstance(before, dict):
        assert isinstance(after, dict) and list(after) == list(before)
        for key in before:
            _same_shape(before[key], after[key])
    elif isinstance(before, list):
        assert isinstance(after, list) and len(after) == len(before)
        for old, new in zip(before, after, strict=True):
            _same_shape(old, new)
    elif isinstance(before, str):
        assert isinstance(after, str)
    else:
        assert after == before and type(after) is type(before)


markup_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)


@PROPERTY
@given(secret=passwords, words=st.lists(markup_text, min_size=1, max_size=4))
def test_xml_and_html_keep_their_elements(secret: str, words: list[str]) -> None:
    redactor = Redactor([secret], key_path=Path(tempfile.gettempdir()) / "loginprobe-property.key")
    root = ET.Element("testsuites", name="loginprobe")
    for word in words:
        case = ET.SubElement(root, "testcase", name=f"{word} {secret}", classname=word)
        ET.SubElement(case, "failure", message=secret).text = f"{word}\n{secret}\n<{secret}>"
    blob = ET.tostring(root, encoding="utf-8", xml_declaration=True)

    cleaned = markup.xml_document(blob, redactor)

    assert cleaned is not None
    tree = ET.fromstring(cleaned)
    assert [e.tag for e in tree.iter()] == [e.tag for e in root.iter()]
    assert [sorted(e.attrib) for e in tree.iter()] == [sorted(e.attrib) for e in root.iter()]
    if not ordinary(secret):
        assert secret not in " ".join(
            [*(e.text or "" for e in tree.iter()), *(v for e in tree.iter() for v in e.attrib.values())]
        )

    page = "".join(f"<p title='{w}'>{w} {secret}</p>" for w in words)
    literal = json.dumps(secret).replace("</", "<\\/")  # as a page would write it
    script = f"<script>var s = {literal}; function f(a) {{ return a / 2; }}</script>"
    redacted = markup.markup(f"<!doctype html><html><body>{page}</body>{script}</html>", redactor)
    assert html_problems("page", redacted) == []
