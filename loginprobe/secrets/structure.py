"""Redaction by structure: each secret is replaced inside the value that holds it, so documents still parse.

Chrome DevTools' "Export HAR (sanitized)" is the model: it drops credentials by header name and never
searches the file's text. Here every kind of document is parsed first:
- headers by name (`Authorization` keeps its scheme, `Cookie`/`Set-Cookie` cookie by cookie);
- URLs by query and fragment parameter, plus a password in the userinfo;
- form bodies by field, JSON by member name (keys are never changed), HAR entries and Playwright
  trace events by their fields;
- XML by text and attribute value (xml.etree), HTML by text node and attribute value (html.parser),
  inline scripts and styles inside their string literals and comments only.
Free text inside any of those values goes through `Redactor.text`, which searches only secrets that
cannot be ordinary text.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import types
import typing
import xml.etree.ElementTree as ET
from enum import Enum
from html.parser import HTMLParser
from typing import Any, Literal, TypeVar, get_args, get_origin
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from pydantic import BaseModel

from loginprobe.secrets import FINGERPRINT_RE, Redactor
from loginprobe.secrets.rules import (
    CREDENTIAL_HEADERS,
    SECRET_SELECTOR,
    TYPING_METHODS,
    secret_cookie,
    secret_field,
    secret_header,
    secret_param,
)

# JSON members that name or identify things (header and cookie names, trace ids, resource hashes,
# mime types, timestamps): never searched, so a secret equal to a word never renames anything.
IDENTIFIER_KEYS = frozenset(
    {
        "name", "type", "method", "class", "apiName", "mimeType", "httpVersion", "startedDateTime",
        "credentials_configured", "cause", "check", "engine", "mode", "scheme", "contentType",
    }
)  # fmt: skip
_IDENTIFIER_SUFFIXES = ("Id", "_id", "sha1", "Sha1", "Name", "Time", "Date")
_HEADER_LIST_KEYS = frozenset({"headers", "request_headers", "response_headers", "hidden_request_headers"})
_DOM_VALUE_KEYS = ("value", "__playwright_value_")


# -- headers and cookies ---------------------------------------------------------------------------


def _cookie_value(name: str, value: str, redactor: Redactor) -> str:
    quoted = len(value) >= 2 and value[0] == value[-1] == '"'
    bare = value[1:-1] if quoted else value
    if secret_cookie(name, bare) or redactor.is_secret(bare):
        mark = redactor.replace(bare)
        return f'"{mark}"' if quoted else mark
    return redactor.text(value)


def cookie_header(value: str, redactor: Redactor) -> str:
    """`a=1; sid=2`: session and auth cookies (and known secrets) replaced, ordinary cookies kept."""
    out = []
    for part in value.split(";"):
        item = part.strip()
        if not item:
            continue
        name, eq, cookie = item.partition("=")
        if not eq:  # a nameless cookie's value (RFC 6265bis §5.7.3): never shown
            out.append(redactor.replace(item))
        else:
            out.append(f"{name}={_cookie_value(name.strip(), cookie.strip(), redactor)}")
    return "; ".join(out)


def set_cookie_line(line: str, redactor: Redactor) -> str:
    """`name=value; Path=/; HttpOnly` with a secret value replaced, attributes kept."""
    first, sep, rest = line.partition(";")
    name, eq, value = first.partition("=")
    if not eq:
        return redactor.text(line)
    return f"{name}={_cookie_value(name.strip(), value.strip(), redactor)}{sep}{redactor.text(rest)}"


def authorization(value: str, redactor: Redactor) -> str:
    """`Scheme credentials` with the credentials replaced; Basic's password registered too."""
    scheme, _sep, credentials = value.strip().partition(" ")
    credentials = credentials.strip()
    if not credentials:
        return redactor.replace(scheme)
    if scheme.lower() == "basic" and not FINGERPRINT_RE.search(credentials):
        try:
            user, colon, password = base64.b64decode(credentials, validate=True).decode().partition(":")
        except (binascii.Error, ValueError):
            pass  # not valid base64: the credential is still replaced whole below
        else:
            if colon and password:
                redactor.add_basic(user, password)
    return f"{scheme} {redactor.replace(credentials)}"


def header_value(name: str, value: str, redactor: Redactor) -> str:
    """A header value with its secret parts replaced (other headers as free text)."""
    lowered = name.lower()
    if lowered == "cookie":
        return cookie_header(value, redactor)
    if lowered == "set-cookie":  # Playwright joins repeated Set-Cookie lines with newlines
        return "\n".join(set_cookie_line(line, redactor) for line in value.split("\n"))
    if lowered in CREDENTIAL_HEADERS:
        return authorization(value, redactor)
    if secret_header(lowered):
        return redactor.replace(value)
    if lowered in ("location", "referer", "content-location", "refresh"):
        return url(value, redactor)
    return redactor.text(value)


# -- URLs and form bodies --------------------------------------------------------------------------


def query(text: str, redactor: Redactor) -> str:
    """`a=1&code=xyz` (raw, as sent) with credential parameters replaced; the rest as free text."""
    out = []
    for item in text.split("&"):
        name, eq, value = item.partition("=")
        decoded = unquote_plus(value)
        if eq and value and (secret_param(unquote_plus(name)) or redactor.is_secret(decoded)):
            out.append(f"{name}={redactor.replace(decoded)}")
        else:
            out.append(redactor.text(item))
    return "&".join(out)


def url(value: str, redactor: Redactor) -> str:
    """A URL with credential query/fragment parameters and a userinfo password replaced."""
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:  # a malformed authority (bad IPv6, bad port): free text then
        return redactor.text(value)
    netloc = parts.netloc
    if password:
        userinfo, _at, host = netloc.rpartition("@")
        user = userinfo.partition(":")[0]
        netloc = f"{user}:{redactor.replace(password)}@{host}"
    fragment = query(parts.fragment, redactor) if "=" in parts.fragment else redactor.text(parts.fragment)
    cleaned = SplitResult(
        parts.scheme,
        redactor.text(netloc),
        redactor.text(parts.path),
        query(parts.query, redactor) if parts.query else "",
        fragment,
    )
    return urlunsplit(cleaned) if cleaned != parts else value


def body(text: str, mime: str, redactor: Redactor) -> str:
    """A request or response body: form fields by name, JSON by member, anything else as free text."""
    mime = mime.lower()
    stripped = text.lstrip()
    if "json" in mime or stripped.startswith(("{", "[")):
        cleaned = json_text(text, redactor)
        if cleaned is not None:
            return cleaned
    if "x-www-form-urlencoded" in mime or (not mime and "=" in text and "<" not in text):
        return query(text, redactor)
    if "html" in mime or stripped.startswith("<"):
        return markup(text, redactor)
    return redactor.text(text)


# -- JSON --------------------------------------------------------------------------------------


def _identifier(key: str) -> bool:
    return key in IDENTIFIER_KEYS or key.endswith(_IDENTIFIER_SUFFIXES)


def _string(key: str, value: str, redactor: Redactor) -> str:
    """One JSON string under member `key`."""
    if secret_field(key):
        return redactor.replace(value)
    if _identifier(key):
        return value
    if value.startswith(("http://", "https://", "ws://", "wss://")):
        return url(value, redactor)
    return redactor.text(value)


def json_value(data: Any, redactor: Redactor, key: str = "") -> Any:
    """A parsed JSON value with secrets replaced in its strings; keys, numbers and keywords untouched."""
    if isinstance(data, str):
        return _string(key, data, redactor)
    if isinstance(data, list):
        if key in _HEADER_LIST_KEYS and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p) for p in data
        ):
            return [[n, header_value(n, v, redactor)] for n, v in data]  # our evidence's header pairs
        return [json_value(item, redactor, key) for item in data]
    if isinstance(data, dict):
        name, value = data.get("name"), data.get("value")
        if isinstance(name, str) and isinstance(value, str):
            # HAR headers, cookies, query and form params
            lowered = name.lower()
            if lowered in ("cookie", "set-cookie") or secret_header(lowered) or lowered == "location":
                return {**data, "value": header_value(name, value, redactor)}
            if secret_param(name):
                return {**data, "value": redactor.replace(value)}
        if str(data.get("type", "")).lower() == "password":
            # a DOM snapshot of a password input: its value is the secret whatever it is
            data = {k: redactor.replace(v) if k in _DOM_VALUE_KEYS and isinstance(v, str) else v
                    for k, v in data.items()}  # fmt: skip
        return {k: _dom_value(k, v, redactor) for k, v in data.items()}
    return data


def _dom_value(key: str, value: Any, redactor: Redactor) -> Any:
    if key == "__playwright_value_" and isinstance(value, str) and redactor.is_secret(value):
        return redactor.replace(value)  # what was typed into an input, in a trace's DOM snapshot
    return json_value(value, redactor, key)


def json_text(text: str, redactor: Redactor, *, indent: int | None = None) -> str | None:
    """A JSON document redacted by member; None when `text` is not JSON. Unchanged text comes back as is."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    cleaned = json_value(data, redactor)
    if cleaned == data:
        return text
    if indent is None and "\n" in text.strip():
        indent = 2
    separators = None if indent is not None else (",", ":") if ", " not in text else None
    return json.dumps(cleaned, ensure_ascii=False, indent=indent, separators=separators)


# -- HAR entries and trace events --------------------------------------------------------------


def har_entry(entry: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """One HAR entry (also a trace's `resource-snapshot`), bodies decoded, redacted by type, re-encoded."""
    bodies: list[tuple[str, str, str]] = []
    for side in ("request", "response"):
        message = entry.get(side)
        if not isinstance(message, dict):
            continue
        for cookie in message.get("cookies") or []:
            if isinstance(cookie, dict) and isinstance(cookie.get("value"), str):
                cookie["value"] = _cookie_value(str(cookie.get("name", "")), cookie["value"], redactor)
        for container_key in ("postData", "content"):
            container = message.get(container_key)
            if isinstance(container, dict) and isinstance(container.get("text"), str):
                bodies.append((side, container_key, _har_body(container, redactor)))
                container["text"] = ""  # the walk below must not search the body text a second time
    cleaned = typing.cast(dict[str, Any], json_value(entry, redactor))
    for side, container_key, text in bodies:
        cleaned[side][container_key]["text"] = text
        entry[side][container_key]["text"] = text
    return cleaned


def _har_body(container: dict[str, Any], redactor: Redactor) -> str:
    """A HAR postData/content text redacted by its mime type, base64 kept when it was base64."""
    text = str(container.get("text"))
    mime = str(container.get("mimeType", ""))
    if not text:
        return text
    if container.get("encoding") == "base64":
        try:
            decoded = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return text  # binary content (an image, a font): no text to redact
        cleaned = body(decoded, mime, redactor)
        return text if cleaned == decoded else base64.b64encode(cleaned.encode("utf-8")).decode("ascii")
    return body(text, mime, redactor)


def trace_event(event: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """One line of a Playwright `*.trace` / `*.network` member."""
    snapshot = event.get("snapshot")
    if event.get("type") == "resource-snapshot" and isinstance(snapshot, dict):
        event = {**event, "snapshot": har_entry(snapshot, redactor)}
    params = event.get("params")
    if event.get("method") in TYPING_METHODS and isinstance(params, dict):
        selector = SECRET_SELECTOR.search(str(params.get("selector", "")))
        typed = {}
        for field in ("value", "text"):
            value = params.get(field)
            if isinstance(value, str) and (selector or redactor.is_secret(value)):
                typed[field] = redactor.replace(value)
        if typed:
            event = {**event, "params": {**params, **typed}}
    if event.get("type") == "log" and isinstance(event.get("message"), str):
        event = {**event, "message": redactor.quoted(event["message"])}  # `fill("…")` quotes what was typed
    return typing.cast(dict[str, Any], json_value(event, redactor))


# -- XML and HTML --------------------------------------------------------------------------------


def xml_document(blob: bytes, redactor: Redactor) -> bytes | None:
    """An XML document redacted by text node and attribute value; None when it does not parse."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    try:
        root = ET.fromstring(blob, parser=parser)
    except ET.ParseError:
        return None
    changed = False
    for element in root.iter():
        for attr in ("text", "tail"):
            value = getattr(element, attr)
            if isinstance(value, str) and (cleaned := redactor.text(value)) != value:
                setattr(element, attr, cleaned)
                changed = True
        for name, value in element.attrib.items():
            if (cleaned := redactor.text(value)) != value:
                element.set(name, cleaned)
                changed = True
    if not changed:
        return blob
    declared = blob.lstrip().startswith(b"<?xml")
    return ET.tostring(root, encoding="utf-8", xml_declaration=declared)


class _MarkupRewriter(HTMLParser):
    """Records where each construct starts, so only changed text nodes and tags are rewritten."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[tuple[int, int], str, Any]] = []

    def _at(self, kind: str, payload: Any = None) -> None:
        self.events.append((self.getpos(), kind, payload))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._at("start", (tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._at("start", (tag, attrs))

    def handle_data(self, data: str) -> None:
        self._at("data", self.cdata_elem)  # type: ignore[attr-defined]  # set inside script/style

    def handle_endtag(self, tag: str) -> None:
        self._at("raw")

    def handle_comment(self, data: str) -> None:
        self._at("comment")

    def handle_decl(self, decl: str) -> None:
        self._at("raw")

    def handle_pi(self, data: str) -> None:
        self._at("raw")

    def unknown_decl(self, data: str) -> None:
        self._at("raw")


def _attribute(attrs: list[tuple[str, str | None]], name: str, value: str, redactor: Redactor) -> str:
    if name == "value" and (redactor.is_secret(value) or ("type", "password") in attrs):
        return redactor.replace(value)
    if name in ("href", "src", "action", "formaction", "data", "poster", "cite"):
        return url(value, redactor)
    return redactor.text(value)


def markup(text: str, redactor: Redactor) -> str:
    """An HTML document redacted by text node and attribute value; inline code inside its literals."""
    parser = _MarkupRewriter()
    try:
        parser.feed(text)
        parser.close()
    except AssertionError:  # html.parser's way of refusing some malformed declarations
        return redactor.text(text)
    starts = [0]  # html.parser counts lines by "\n" only
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    offsets = [starts[line - 1] + column for (line, column), _kind, _payload in parser.events]
    out = [text[: offsets[0]] if offsets else text]
    script_type = ""
    for index, (_pos, kind, payload) in enumerate(parser.events):
        raw = text[offsets[index] : offsets[index + 1] if index + 1 < len(offsets) else len(text)]
        if kind == "start":
            tag, attrs = payload
            script_type = next((v or "" for n, v in attrs if n == "type"), "") if tag == "script" else ""
            cleaned = [(n, v if v is None else _attribute(attrs, n, v, redactor)) for n, v in attrs]
            if cleaned != attrs:
                rendered = "".join(f" {n}" if v is None else f' {n}="{html.escape(v)}"' for n, v in cleaned)
                raw = f"<{tag}{rendered}{' /' if raw.rstrip().endswith('/>') else ''}>"
        elif kind == "data" and payload == "script":
            cleaned_json = json_text(raw, redactor) if "json" in script_type.lower() else None
            raw = cleaned_json.replace("</", "<\\/") if cleaned_json is not None else code(raw, redactor)
        elif kind == "data" and payload == "style":
            raw = code(raw, redactor, js=False)
        elif kind in ("data", "comment"):
            value = html.unescape(raw) if kind == "data" else raw
            cleaned_text = redactor.text(value)
            if cleaned_text != value:
                raw = html.escape(cleaned_text, quote=False) if kind == "data" else cleaned_text
        out.append(raw)
    return "".join(out)


# -- inline code -------------------------------------------------------------------------------

_REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^") | {""}


def code(source: str, redactor: Redactor, *, js: bool = True) -> str:
    """JavaScript (or CSS) with secrets replaced inside string literals and comments only.

    A secret equal to a piece of code is never replaced, so the script still parses.
    """
    out: list[str] = []
    last = i = 0
    n = len(source)
    previous = ""

    def literal(start: int, end: int) -> None:
        nonlocal last
        out.append(source[last:start])
        out.append(redactor.text(source[start:end]))
        last = end

    while i < n:
        char = source[i]
        if char in "'\"" or (js and char == "`"):
            j = i + 1
            while j < n and source[j] != char and (char == "`" or source[j] != "\n"):
                j += 2 if source[j] == "\\" else 1
            literal(i + 1, min(j, n))
            i, previous = j + 1, "a"
            continue
        if char == "/" and source.startswith("/*", i):
            j = source.find("*/", i + 2)
            j = n if j < 0 else j
            literal(i + 2, j)
            i = j + 2
            continue
        if js and char == "/" and source.startswith("//", i):
            j = source.find("\n", i)
            j = n if j < 0 else j
            literal(i + 2, j)
            i = j
            continue
        if js and char == "/" and previous in _REGEX_BEFORE:
            j, in_class = i + 1, False  # a regex literal: skipped whole, never rewritten
            while j < n and source[j] != "\n" and (in_class or source[j] != "/"):
                if source[j] == "\\":
                    j += 1
                elif source[j] in "[]":
                    in_class = source[j] == "["
                j += 1
            i, previous = j + 1, "a"
            continue
        if not char.isspace():
            previous = char
        i += 1
    out.append(source[last:])
    return "".join(out)


# -- typed models (report.json) ----------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def _vocabulary(annotation: Any) -> bool:
    """A Literal or Enum type (or a union holding one): its strings are vocabulary, never free text."""
    origin = get_origin(annotation)
    if origin is Literal:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_vocabulary(arg) for arg in get_args(annotation) if arg is not type(None))
    return isinstance(annotation, type) and issubclass(annotation, Enum)


def _unwrap(annotation: Any) -> Any:
    """`X | None` as `X`."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _typed(value: Any, annotation: Any, key: str, redactor: Redactor) -> Any:
    """One field value of a model, walked by its declared type."""
    annotation = _unwrap(annotation)
    if isinstance(value, BaseModel):
        return model(value, redactor)
    if isinstance(value, str):
        if _vocabulary(annotation) or _identifier(key):
            return value
        return _string(key, value, redactor)
    args = get_args(annotation)
    if isinstance(value, tuple):
        if key in _HEADER_LIST_KEYS and len(value) == 2 and all(isinstance(v, str) for v in value):
            return (value[0], header_value(value[0], value[1], redactor))  # a (name, value) header
        types_ = args if len(args) == len(value) else (args[0] if args else Any,) * len(value)
        return tuple(_typed(v, t, key, redactor) for v, t in zip(value, types_, strict=True))
    if isinstance(value, list):
        element = args[0] if args else Any
        return [_typed(v, element, key, redactor) for v in value]
    if isinstance(value, dict):
        element = args[1] if len(args) == 2 else Any
        return {k: _typed(v, element, str(k), redactor) for k, v in value.items()}
    return value  # numbers, booleans, dates, None


def model(obj: M, redactor: Redactor) -> M:
    """A pydantic model with secrets replaced in its free-text strings (Literal, enum, dates untouched)."""
    updates = {}
    for name, info in type(obj).model_fields.items():
        value = getattr(obj, name)
        cleaned = _typed(value, info.annotation, name, redactor)
        if cleaned != value:
            updates[name] = cleaned
    return obj.model_copy(update=updates) if updates else obj
