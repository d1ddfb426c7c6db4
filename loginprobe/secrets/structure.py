"""Redaction by structure: each secret is replaced inside the value that holds it, so documents still parse.

Chrome DevTools' "Export HAR (sanitized)" is the model: it drops credentials by header name and never
searches the file's text. This module holds the small pieces:
- headers by name (`Authorization` keeps its scheme, `Cookie`/`Set-Cookie` cookie by cookie);
- URLs and form bodies by parameter, plus a password in a URL's userinfo;
- JSON by member name (keys, numbers and keywords are never changed);
- pydantic models (our report.json) by field type: Literal, enum and date fields are never free text.
`markup` does XML, HTML and inline code; `documents` does bodies, HAR entries and trace events.
Free text inside any value goes through `Redactor.text`, which searches only secrets that cannot be
ordinary text.
"""

from __future__ import annotations

import base64
import binascii
import json
import types
import typing
from enum import Enum
from typing import Any, Literal, TypeVar, get_args, get_origin
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

from pydantic import BaseModel

from loginprobe.secrets import FINGERPRINT_RE, Redactor
from loginprobe.secrets.rules import (
    CREDENTIAL_HEADERS,
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


def cookie_value(name: str, value: str, redactor: Redactor) -> str:
    """One cookie's value: replaced when the cookie is a session or auth cookie or holds a known secret."""
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
            out.append(f"{name}={cookie_value(name.strip(), cookie.strip(), redactor)}")
    return "; ".join(out)


def set_cookie_line(line: str, redactor: Redactor) -> str:
    """`name=value; Path=/; HttpOnly` with a secret value replaced, attributes kept."""
    first, sep, rest = line.partition(";")
    name, eq, value = first.partition("=")
    if not eq:
        return redactor.text(line)
    return f"{name}={cookie_value(name.strip(), value.strip(), redactor)}{sep}{redactor.text(rest)}"


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
