"""Artifact redaction: Playwright's traces and HARs hold every password, cookie and token; ours must not.

Two passes over a report folder. First every HAR and every trace's `trace.network` is read for values
that are secrets by position (Cookie, Set-Cookie, Authorization headers, `cookies[].value`, password
fields of posted forms, api keys in query strings, tokens in JSON token responses) and each is
registered with the `Redactor`, so a cookie first seen in one run's HAR is also replaced in another
run's trace screenshots-free text. Then every text file and every zip member is rewritten through
`Redactor.data`, atomically (temp file, then `os.replace`), keeping zip member names so that
`playwright show-trace` still opens the trace.

`scan_for_secrets` is the independent check: it looks for the raw values in every form they travel in.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus

from loginprobe.secrets import FINGERPRINT_RE, MIN_SEARCH_LENGTH, Redactor

# Files rewritten as text; zip members are judged by content instead (trace resources have no suffix).
TEXT_SUFFIXES = {".json", ".har", ".md", ".html", ".htm", ".xml", ".txt", ".log", ".trace", ".network"}
ZIP_SUFFIXES = {".zip"}
# Field, query and JSON key names whose values are credentials (RFC 6749 names included).
SECRET_FIELD = re.compile(
    r"^(pass(word)?|passwd|pwd|new[-_]?password|current[-_]?password|secret|client[-_]?secret|"
    r"api[-_]?key|apikey|key|access[-_]?token|refresh[-_]?token|id[-_]?token|token|code|code[-_]?verifier|"
    r"session|sid|auth|authorization|assertion|otp|pin)$",
    re.IGNORECASE,
)
# Request/response headers whose whole value (after a scheme) is a credential.
CREDENTIAL_HEADERS = {"authorization", "proxy-authorization"}
SECRET_HEADER = re.compile(
    r"^(x-)?(api[-_]?key|auth[-_]?token|access[-_]?token|session[-_]?(id|token)|[cx]srf[-_]?token)$|"
    r"-(api[-_]?key|token|secret)$",
    re.IGNORECASE,
)
# Trace actions that type into a field; the value is a secret when the selector looks like one.
TYPING_METHODS = {"fill", "type", "pressSequentially"}
SECRET_SELECTOR = re.compile(r"pass|pwd|secret|token|api[-_]?key|otp|pin", re.IGNORECASE)
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF")


@dataclass(frozen=True, slots=True)
class SecretHit:
    """Where a secret was found: file (relative to the folder), zip member path, and encoding form."""

    path: str
    member: str | None
    form: str
    secret_index: int  # index into the list given to `scan_for_secrets`, never the value


# -- registration: values that are secrets by position -------------------------------------------


def _searchable(value: str) -> bool:
    return len(value) >= MIN_SEARCH_LENGTH


def _register(value: str | None, redactor: Redactor) -> str:
    """Register a positional secret; returns its fingerprint (empty for an empty value)."""
    if not value:
        return value or ""
    if FINGERPRINT_RE.search(value):
        return value  # already redacted (a second pass, or a JWT whose signature was fingerprinted)
    return redactor.add(value, searchable=_searchable(value))


def _cookie_pairs(header: str, redactor: Redactor) -> str:
    """`a=1; b=2` with each value fingerprinted."""
    out = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        out.append(f"{name}{sep}{_register(value.strip(), redactor)}" if sep else part.strip())
    return "; ".join(out)


def _set_cookie(line: str, redactor: Redactor) -> str:
    """`name=value; Path=/; HttpOnly` with the value fingerprinted, attributes kept."""
    first, sep, rest = line.partition(";")
    name, eq, value = first.strip().partition("=")
    if not eq:
        return line
    mark = _register(value.strip().strip('"'), redactor)
    return f"{name}={mark}{sep}{rest}"


def _authorization(value: str, redactor: Redactor) -> str:
    """`Scheme credentials` with the credentials fingerprinted; Basic's password registered too."""
    scheme, _sep, credentials = value.strip().partition(" ")
    if not credentials:
        return _register(scheme, redactor)
    credentials = credentials.strip()
    if scheme.lower() == "basic":
        try:
            user, colon, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except ValueError:
            pass  # not valid base64: the credential is still registered whole below
        else:
            if colon and password:
                redactor.add_basic(user, password)
    return f"{scheme} {_register(credentials, redactor)}"


def _header_value(name: str, value: str, redactor: Redactor) -> str:
    """A header value with its credential part fingerprinted (other headers unchanged)."""
    lowered = name.lower()
    if lowered == "cookie":
        return _cookie_pairs(value, redactor)
    if lowered == "set-cookie":
        return "\n".join(_set_cookie(line, redactor) for line in value.split("\n"))
    if lowered in CREDENTIAL_HEADERS:
        return _authorization(value, redactor)
    if SECRET_HEADER.search(lowered):
        return _register(value, redactor)
    return value


def _json_secrets(data: Any, redactor: Redactor) -> None:
    """Register every string under a credential-named key of a JSON document (token responses)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str) and SECRET_FIELD.match(str(key)):
                _register(value, redactor)
            else:
                _json_secrets(value, redactor)
    elif isinstance(data, list):
        for item in data:
            _json_secrets(item, redactor)


def _body_text(container: dict[str, Any]) -> str | None:
    """The text of a HAR postData/content, base64 decoded when it is text."""
    text = container.get("text")
    if not isinstance(text, str):
        return None
    if container.get("encoding") == "base64":
        try:
            return base64.b64decode(text).decode("utf-8")
        except ValueError:
            return None
    return text


def _set_body_text(container: dict[str, Any], text: str) -> None:
    if container.get("encoding") == "base64":
        container["text"] = base64.b64encode(text.encode("utf-8")).decode("ascii")
    else:
        container["text"] = text


def _body_secrets(container: dict[str, Any], redactor: Redactor) -> None:
    """Register credentials in a form-encoded or JSON body, then redact the body text."""
    text = _body_text(container)
    if text is None:
        return
    mime = str(container.get("mimeType", "")).lower()
    if "x-www-form-urlencoded" in mime or (not mime and "=" in text and "{" not in text):
        for name, value in parse_qsl(text, keep_blank_values=True):
            if SECRET_FIELD.match(name):
                _register(value, redactor)
    elif "json" in mime or text.lstrip().startswith(("{", "[")):
        try:
            _json_secrets(json.loads(text), redactor)
        except ValueError:
            pass  # not JSON after all: plain text replacement below still applies
    _set_body_text(container, redactor.text(text))


def redact_entry(entry: dict[str, Any], redactor: Redactor) -> None:
    """Register and fingerprint the secrets of one HAR entry (also a trace `resource-snapshot`), in place."""
    for side in ("request", "response"):
        message = entry.get(side)
        if not isinstance(message, dict):
            continue
        for header in message.get("headers") or []:
            if isinstance(header, dict) and isinstance(header.get("value"), str):
                header["value"] = _header_value(str(header.get("name", "")), header["value"], redactor)
        for cookie in message.get("cookies") or []:
            if isinstance(cookie, dict) and isinstance(cookie.get("value"), str):
                cookie["value"] = _register(cookie["value"], redactor)
        for item in message.get("queryString") or []:
            if isinstance(item, dict) and SECRET_FIELD.match(str(item.get("name", ""))):
                item["value"] = _register(str(item.get("value", "")), redactor)
        post = message.get("postData")
        if isinstance(post, dict):
            for param in post.get("params") or []:
                if isinstance(param, dict) and SECRET_FIELD.match(str(param.get("name", ""))):
                    param["value"] = _register(str(param.get("value", "")), redactor)
            _body_secrets(post, redactor)
        content = message.get("content")
        if isinstance(content, dict):
            _body_secrets(content, redactor)


def _har_document(blob: bytes, redactor: Redactor) -> bytes | None:
    """A HAR rewritten field by field, or None when the bytes are not a HAR."""
    try:
        har = json.loads(blob.decode("utf-8"))
    except ValueError:
        return None
    entries = har.get("log", {}).get("entries") if isinstance(har, dict) else None
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if isinstance(entry, dict):
            redact_entry(entry, redactor)
    return json.dumps(har, indent=2, ensure_ascii=False).encode("utf-8")


def _trace_events(blob: bytes, redactor: Redactor) -> bytes:
    """A `trace.trace` / `trace.network` (JSON lines) with positional secrets registered and fingerprinted."""
    try:
        lines = blob.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return blob
    out = []
    for line in lines:
        try:
            event = json.loads(line) if line.strip() else None
        except ValueError:
            event = None
        if not isinstance(event, dict):
            out.append(line)
            continue
        snapshot = event.get("snapshot")
        if event.get("type") == "resource-snapshot" and isinstance(snapshot, dict):
            redact_entry(snapshot, redactor)
        params = event.get("params")
        if event.get("method") in TYPING_METHODS and isinstance(params, dict):
            selector = str(params.get("selector", ""))
            if SECRET_SELECTOR.search(selector) and isinstance(params.get("value"), str):
                _register(params["value"], redactor)
            if SECRET_SELECTOR.search(selector) and isinstance(params.get("text"), str):
                _register(params["text"], redactor)
        out.append(json.dumps(event, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(out).encode("utf-8")


# -- rewriting -----------------------------------------------------------------------------------


def _is_image(blob: bytes) -> bool:
    return blob.startswith(IMAGE_MAGIC)


def _member_kind(name: str) -> str:
    lowered = name.lower()
    if lowered.endswith((".trace", ".network")):
        return "events"
    if lowered.endswith(".har"):
        return "har"
    if lowered.endswith(".zip"):
        return "zip"
    return "other"


def _redact_blob(name: str, blob: bytes, redactor: Redactor) -> bytes:
    """One file's or zip member's bytes with every secret replaced."""
    kind = _member_kind(name)
    if kind == "zip":
        return _redact_zip(blob, redactor)
    if _is_image(blob):
        return blob  # screenshots: pixels, not text
    if kind == "events":
        blob = _trace_events(blob, redactor)
    elif kind == "har":
        blob = _har_document(blob, redactor) or blob
    return redactor.data(blob)


def _zip_members(blob: bytes) -> Iterator[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        for info in archive.infolist():
            yield info, archive.read(info)


def _redact_zip(blob: bytes, redactor: Redactor) -> bytes:
    """A zip with every member redacted; names, order and timestamps kept, deflate compression."""
    members = list(_zip_members(blob))
    # Register positional secrets of every member before rewriting any (a cookie in trace.network
    # also sits in the DOM snapshots of trace.trace and in resources/).
    for info, data in members:
        if _member_kind(info.filename) == "events":
            _trace_events(data, redactor)
        elif _member_kind(info.filename) == "har":
            _har_document(data, redactor)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            target = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            target.compress_type = zipfile.ZIP_DEFLATED
            target.external_attr = info.external_attr
            archive.writestr(target, data if info.is_dir() else _redact_blob(info.filename, data, redactor))
    return out.getvalue()


def _write_atomically(path: Path, data: bytes) -> None:
    """Replace a file's content via a temp file in the same folder (a reader never sees half a file)."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _artifact_files(folder: Path) -> list[Path]:
    """Files the redaction rewrites: text files by suffix, and zips."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink() and path.suffix.lower() in TEXT_SUFFIXES | ZIP_SUFFIXES
    )


def register_secrets(folder: Path, redactor: Redactor) -> None:
    """Pass 1: register every positional secret of every HAR and trace under the folder."""
    for path in _artifact_files(folder):
        kind = _member_kind(path.name)
        if kind == "har":
            _har_document(path.read_bytes(), redactor)
        elif kind == "events":
            _trace_events(path.read_bytes(), redactor)
        elif kind == "zip":
            try:
                for info, data in _zip_members(path.read_bytes()):
                    if _member_kind(info.filename) == "events":
                        _trace_events(data, redactor)
                    elif _member_kind(info.filename) == "har":
                        _har_document(data, redactor)
            except zipfile.BadZipFile:
                continue  # a truncated trace (crashed browser) is still rewritten as bytes below


def redact_artifacts(folder: Path, redactor: Redactor) -> None:
    """Rewrite, in place and atomically, every text file and zip under `folder` without its secrets."""
    if not redactor.enabled:
        return
    register_secrets(folder, redactor)
    for path in _artifact_files(folder):
        original = path.read_bytes()
        try:
            cleaned = _redact_blob(path.name, original, redactor)
        except zipfile.BadZipFile:
            cleaned = redactor.data(original)
        if cleaned != original:
            _write_atomically(path, cleaned)


# -- scanning ------------------------------------------------------------------------------------


def _base64_cores(value: bytes) -> Iterator[tuple[str, bytes]]:
    """The base64 characters fully determined by `value` at each of the three byte alignments."""
    for pad in range(3):
        encoded = base64.b64encode(b"\0" * pad + value)
        start = 4 if pad else 0
        end = len(encoded) if (pad + len(value)) % 3 == 0 else len(encoded) - 4
        core = encoded[start:end]
        if len(core) >= 4:
            yield "base64", core
            yield "base64url", core.replace(b"+", b"-").replace(b"/", b"_")


def _forms(secret: str) -> list[tuple[str, bytes]]:
    raw = secret.encode("utf-8")
    forms: list[tuple[str, bytes]] = [
        ("raw", raw),
        ("url-encoded", quote(secret, safe="").encode()),
        ("url-encoded", quote_plus(secret).encode()),
        ("json-escaped", json.dumps(secret)[1:-1].encode()),
        ("json-escaped", json.dumps(secret, ensure_ascii=False)[1:-1].encode("utf-8")),
    ]
    forms += list(_base64_cores(raw))
    seen: set[bytes] = set()
    unique = []
    for form, needle in forms:
        if needle not in seen:
            seen.add(needle)
            unique.append((form, needle))
    return unique


def _scan_blob(
    blob: bytes,
    where: str,
    member: str | None,
    needles: list[tuple[int, str, bytes]],
    hit: Callable[[SecretHit], None],
) -> None:
    """Search one file or member; a zip (by its magic, whatever its name) is opened and searched inside."""
    if blob.startswith(b"PK\x03\x04"):
        try:
            for info, data in _zip_members(blob):
                if not info.is_dir():
                    inner = f"{member}!{info.filename}" if member else info.filename
                    _scan_blob(data, where, inner, needles, hit)
            return
        except zipfile.BadZipFile:
            pass  # a truncated or fake zip is searched as plain bytes below
    for index, form, needle in needles:
        if needle in blob:
            hit(SecretHit(path=where, member=member, form=form, secret_index=index))


def scan_for_secrets(folder: Path, secrets: list[str]) -> list[SecretHit]:
    """Every place a secret still appears (raw, URL, JSON, base64 forms), zips opened recursively."""
    needles = [
        (index, form, needle)
        for index, secret in enumerate(secrets)
        if len(secret) >= MIN_SEARCH_LENGTH
        for form, needle in _forms(secret)
    ]
    hits: list[SecretHit] = []
    seen: set[SecretHit] = set()

    def hit(found: SecretHit) -> None:
        if found not in seen:
            seen.add(found)
            hits.append(found)

    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        _scan_blob(path.read_bytes(), str(path.relative_to(folder)), None, needles, hit)
    return hits
