"""Artifact redaction: Playwright's traces and HARs hold every password, cookie and token; ours must not.

Two passes over a report folder. First every HAR and every trace member (`*.trace`, `*.network`) is
redacted once with its result thrown away: that registers with the `Redactor` every value that is a
secret by position (Cookie and Set-Cookie of session cookies, Authorization, api-key headers, password
fields, credential query parameters, tokens in JSON), so a cookie first seen in one run's HAR is also
replaced in another run's trace. Then every file and zip member is rewritten by its structure
(`loginprobe.secrets.structure`: JSON by member, HAR and trace events by field, XML and HTML by text
and attribute, scripts inside their literals, URLs by parameter), atomically (temp file, then
`os.replace`), keeping zip member names so that `playwright show-trace` still opens the trace. A file
is rewritten only when something in it changed.

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
from urllib.parse import quote, quote_plus

from loginprobe.secrets import Redactor, documents, markup, ordinary
from loginprobe.secrets import structure as by_structure

# Files rewritten; zip members are judged by name and content (trace resources are named by hash).
TEXT_SUFFIXES = {
    ".json", ".har", ".md", ".html", ".htm", ".xml", ".svg", ".txt", ".log", ".trace", ".network",
    ".stacks", ".js", ".mjs", ".css",
}  # fmt: skip
ZIP_SUFFIXES = {".zip"}
IMAGE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"RIFF", b"\x00\x00\x01\x00", b"wOF2", b"wOFF")
# Searched secrets shorter than this are scanned for as whole tokens, as `Redactor.text` replaces them.
_WHOLE_TOKEN_BELOW = 8


@dataclass(frozen=True, slots=True)
class SecretHit:
    """Where a secret was found: file (relative to the folder), zip member path, and encoding form."""

    path: str
    member: str | None
    form: str
    secret_index: int  # index into the list given to `scan_for_secrets`, never the value


# -- one document ------------------------------------------------------------------------------


def _kind(name: str, blob: bytes) -> str:
    """What a file or member is, by its name first and its first bytes otherwise."""
    lowered = name.lower()
    if lowered.endswith((".trace", ".network")):
        return "events"
    if lowered.endswith(".zip") or blob.startswith(b"PK\x03\x04"):
        return "zip"
    if blob.startswith(IMAGE_MAGIC):
        return "binary"
    for suffixes, kind in (
        ((".har",), "har"),
        ((".json", ".stacks"), "json"),
        ((".xml", ".svg"), "xml"),
        ((".html", ".htm"), "html"),
        ((".js", ".mjs"), "js"),
        ((".css",), "css"),
        ((".md", ".txt", ".log"), "text"),
    ):
        if lowered.endswith(suffixes):
            return kind
    head = blob[:512].lstrip()
    if head.startswith((b"{", b"[")):
        return "json"
    if head.startswith((b"<?xml", b"<svg")):
        return "xml"
    if head.startswith(b"<"):
        return "html"
    return "text"


def _har(text: str, redactor: Redactor) -> str | None:
    """A HAR rewritten entry by entry, or None when the text is not a HAR."""
    try:
        har = json.loads(text)
    except ValueError:
        return None
    entries = har.get("log", {}).get("entries") if isinstance(har, dict) else None
    if not isinstance(entries, list):
        return None
    original = json.dumps(har)
    har["log"]["entries"] = [documents.har_entry(e, redactor) if isinstance(e, dict) else e for e in entries]
    cleaned = by_structure.json_value(har, redactor)
    if json.dumps(cleaned) == original:
        return text
    return json.dumps(cleaned, indent=2, ensure_ascii=False)


def _events(text: str, redactor: Redactor) -> str:
    """A trace's JSON lines, each event redacted by field; lines that did not change are kept as they were."""
    out = []
    for line in text.split("\n"):
        try:
            event = json.loads(line) if line.strip() else None
        except ValueError:
            event = None
        if not isinstance(event, dict):
            out.append(line if event is None else by_structure.json_text(line, redactor) or line)
            continue
        cleaned = documents.trace_event(event, redactor)
        compact = json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"))
        out.append(line if cleaned == event else compact)
    return "\n".join(out)


def _report_json(text: str, redactor: Redactor) -> str | None:
    """loginprobe's own report.json, redacted by its model's field types; None when it is no Report."""
    from pydantic import ValidationError

    from loginprobe.report import Report

    try:
        report = Report.model_validate_json(text)
    except (ValidationError, ValueError):
        return None
    cleaned = by_structure.model(report, redactor)
    return text if cleaned is report else cleaned.model_dump_json(indent=2)


def _text_document(name: str, kind: str, text: str, redactor: Redactor) -> str:
    if kind == "events":
        return _events(text, redactor)
    if kind == "har" or (kind == "json" and '"log"' in text[:200]):
        cleaned = _har(text, redactor)
        if cleaned is not None:
            return cleaned
    if kind == "json":
        cleaned = _report_json(text, redactor) if Path(name).name == "report.json" else None
        if cleaned is None:
            cleaned = by_structure.json_text(text, redactor)
        return cleaned if cleaned is not None else redactor.text(text)
    if kind == "html":
        return markup.markup(text, redactor)
    if kind in ("js", "css"):
        return markup.code(text, redactor, js=kind == "js")
    return redactor.text(text)


def _redact_blob(name: str, blob: bytes, redactor: Redactor) -> bytes:
    """One file's or zip member's bytes with every secret replaced, by its structure."""
    kind = _kind(name, blob)
    if kind == "zip":
        return _redact_zip(blob, redactor)
    if kind == "binary":
        return blob  # screenshots and fonts: pixels and glyphs, not text
    if kind == "xml":
        cleaned = markup.xml_document(blob, redactor)
        if cleaned is not None:
            return cleaned
        kind = "html"  # not well-formed: html.parser is tolerant of that
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return redactor.data(blob)  # binary resources: only long secrets, by their raw bytes
    cleaned_text = _text_document(name, kind, text, redactor)
    return blob if cleaned_text == text else cleaned_text.encode("utf-8")


def _redact_body(blob: bytes, mime: str, redactor: Redactor) -> bytes:
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return redactor.data(blob)
    cleaned = documents.body(text, mime, redactor)
    return blob if cleaned == text else cleaned.encode("utf-8")


# -- folders and zips ----------------------------------------------------------------------------


def _zip_members(blob: bytes) -> Iterator[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        for info in archive.infolist():
            yield info, archive.read(info)


def _registers(name: str) -> bool:
    return name.lower().endswith((".trace", ".network", ".har"))


def _register_zip(blob: bytes, redactor: Redactor) -> None:
    for info, data in _zip_members(blob):
        if _registers(info.filename):
            _redact_blob(info.filename, data, redactor)
        elif _kind(info.filename, data) == "zip":
            _register_zip(data, redactor)


def _body_types(members: list[tuple[zipfile.ZipInfo, bytes]]) -> dict[str, str]:
    """Member path -> mime type of the request and response bodies a trace keeps in resources/."""
    types: dict[str, str] = {}
    for info, data in members:
        if _kind(info.filename, data) != "events":
            continue
        for line in data.decode("utf-8", "replace").split("\n"):
            if '"resource-snapshot"' not in line:
                continue
            try:
                snapshot = json.loads(line).get("snapshot") or {}
            except (ValueError, AttributeError):
                continue
            for side, key in (("request", "postData"), ("response", "content")):
                container = (snapshot.get(side) or {}).get(key) or {}
                path = container.get("_file") or (
                    f"resources/{container['_sha1']}" if "_sha1" in container else ""
                )
                if path:
                    types[path] = str(container.get("mimeType", ""))
    return types


def _redact_zip(blob: bytes, redactor: Redactor) -> bytes:
    """A zip with every member redacted; names, order and timestamps kept, deflate compression.

    A trace keeps request and response bodies as resources/ members: each is redacted as the mime type
    its resource-snapshot gives (a form body by field, JSON by member).
    """
    members = list(_zip_members(blob))
    bodies = _body_types(members)
    # Register positional secrets of every member before rewriting any (a cookie in trace.network
    # also sits in the DOM snapshots of trace.trace and in resources/).
    _register_zip(blob, redactor)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            target = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            target.compress_type = zipfile.ZIP_DEFLATED
            target.external_attr = info.external_attr
            if info.is_dir():
                archive.writestr(target, data)
            elif info.filename in bodies and _kind(info.filename, data) not in ("binary", "zip"):
                archive.writestr(target, _redact_body(data, bodies[info.filename], redactor))
            else:
                archive.writestr(target, _redact_blob(info.filename, data, redactor))
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
        try:
            if _registers(path.name):
                _redact_blob(path.name, path.read_bytes(), redactor)
            elif path.suffix.lower() in ZIP_SUFFIXES:
                _register_zip(path.read_bytes(), redactor)
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


def _needle(form: str, needle: bytes) -> re.Pattern[bytes]:
    """A searched form as `Redactor.text` replaces it: short raw forms only as whole tokens."""
    escaped = re.escape(needle)
    if form.startswith("base64") or len(needle) >= _WHOLE_TOKEN_BELOW:
        return re.compile(escaped)
    before = rb"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))" if needle[:1].isalnum() else b""
    after = rb"(?![A-Za-z0-9])" if needle[-1:].isalnum() else b""
    return re.compile(before + escaped + after)


def _scan_blob(
    blob: bytes,
    where: str,
    member: str | None,
    needles: list[tuple[int, str, re.Pattern[bytes]]],
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
        if needle.search(blob):
            hit(SecretHit(path=where, member=member, form=form, secret_index=index))


def scan_for_secrets(folder: Path, secrets: list[str]) -> list[SecretHit]:
    """Every place a secret still appears (raw, URL, JSON, base64 forms), zips opened recursively.

    A secret that can be ordinary text (`test`, `true`, `42`: see `loginprobe.secrets.ordinary`) is not
    searched: it cannot be told from the words around it, and redaction replaces it only where it stands
    as a secret. Short secrets are searched as whole tokens, as redaction replaces them.
    """
    needles = [
        (index, form, _needle(form, needle))
        for index, secret in enumerate(secrets)
        if not ordinary(secret)
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
