"""Secrets: which values are secret, their fingerprints, and their removal from anything written.

One package for the whole tool (flows record through it, reports redact through it):
- `rules`: the one list of secret header, cookie, parameter and field names, and the JWT shape;
- this module: fingerprints and the `Redactor`, which knows a run's secrets;
- `structure`: redaction by structure (headers, cookies, URLs, JSON, XML, HTML, HAR entries, trace
  events), so every document still parses after redaction.

A fingerprint is `‹secret:xxxxxxxx›`, an HMAC-SHA256 of the value under a key kept on this machine
(`~/.local/share/loginprobe/fingerprint.key`, mode 0600), so the same secret gets the same fingerprint
in every run here (runs stay comparable, checks compare cookie fingerprints) while a short or
guessable password cannot be recovered from its fingerprint by hashing candidates.

`Redactor` knows every secret of a run (configured ones, and those discovered while capturing:
session cookies, Authorization credentials, tokens in storage and token responses). Where a value
stands as a secret (a cookie, a header, a password field) it is replaced whatever it is. In free text
only values that cannot be ordinary text are searched for (see `rules.ordinary`): a password `test`
is replaced in the form that posted it, never in the word `testsuite`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets as _random
import threading
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, quote_plus

from loginprobe.secrets.rules import (
    CREDENTIAL_HEADERS,
    JWT_RE,
    MIN_SEARCH_LENGTH,
    SECRET_FIELD,
    SECRET_HEADER,
    SECRET_PARAM_ONLY,
    SECRET_SELECTOR,
    SESSION_COOKIE,
    TYPING_METHODS,
    looks_like_token,
    ordinary,
    secret_cookie,
    secret_field,
    secret_header,
    secret_param,
)

__all__ = [
    "CREDENTIAL_HEADERS",
    "FINGERPRINT_RE",
    "JWT_RE",
    "MIN_SEARCH_LENGTH",
    "SECRET_FIELD",
    "SECRET_HEADER",
    "SECRET_PARAM_ONLY",
    "SECRET_SELECTOR",
    "SESSION_COOKIE",
    "TYPING_METHODS",
    "Redactor",
    "default_key_path",
    "fingerprint",
    "looks_like_token",
    "ordinary",
    "secret_cookie",
    "secret_field",
    "secret_header",
    "secret_param",
]

FINGERPRINT_RE = re.compile(r"‹secret:[0-9a-f]{8}›")
# Searched values shorter than this match only as whole tokens (not inside a longer word or id).
_WHOLE_TOKEN_BELOW = 8
_BEFORE = r"(?:(?<![A-Za-z0-9])|(?<=%[0-9A-Fa-f]{2}))"  # a %XX escape ends a token too
_AFTER = r"(?![A-Za-z0-9])"

_key_lock = threading.Lock()
_key_cache: dict[Path, bytes] = {}


def default_key_path() -> Path:
    return Path.home() / ".local" / "share" / "loginprobe" / "fingerprint.key"


def _load_key(path: Path) -> bytes:
    with _key_lock:
        if path in _key_cache:
            return _key_cache[path]
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            key = b""
        except OSError:
            # An unreadable key file (read-only home, odd permissions) must not stop a run:
            # fall back to a per-process key, which keeps fingerprints stable within the run.
            key = _random.token_bytes(32)
        if len(key) < 16:
            key = _random.token_bytes(32)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(key)
            except OSError:
                pass  # same fallback as above: stable within this process only
        _key_cache[path] = key
        return key


def fingerprint(value: str, key_path: Path | None = None) -> str:
    """The stable, irreversible stand-in for a secret value."""
    key = _load_key(key_path or default_key_path())
    digest = hmac.new(key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return f"‹secret:{digest[:8]}›"


def _variants(value: str) -> set[str]:
    """The encodings a secret typically travels in."""
    # surrogatepass: a header can carry lone surrogates (undecodable bytes); they are secrets too
    url_forms = {quote(value, safe="", errors="surrogatepass"), quote_plus(value, errors="surrogatepass")}
    forms = {value, *url_forms, json.dumps(value)[1:-1]}
    return {form for form in forms if form}


def _alternative(form: str) -> str:
    """One searched form as a regex: short forms only as whole tokens."""
    escaped = re.escape(form)
    if len(form) >= _WHOLE_TOKEN_BELOW:
        return escaped
    before = _BEFORE if form[0].isascii() and form[0].isalnum() else ""
    after = _AFTER if form[-1].isascii() and form[-1].isalnum() else ""
    return f"{before}{escaped}{after}"


class Redactor:
    """Collects a run's secrets and removes them from text, bytes and header values."""

    def __init__(self, secrets: Iterable[str] = (), *, enabled: bool = True, key_path: Path | None = None):
        self.enabled = enabled
        self._key_path = key_path
        self._lock = threading.Lock()
        self._values: set[str] = set()  # every registered secret, replaced where it stands
        self._secrets: dict[str, str] = {}  # searched form -> its replacement
        self._pattern: re.Pattern[str] | None = None
        for value in secrets:
            self.add(value)

    def fingerprint(self, value: str) -> str:
        return fingerprint(value, self._key_path)

    def mark(self, value: str) -> str:
        """The replacement of a secret value: its fingerprint (a JWT keeps its readable header and claims)."""
        if FINGERPRINT_RE.search(value):
            return value  # already redacted (a second pass, or a JWT whose signature went)
        if JWT_RE.fullmatch(value):
            head, body, _sig = value.split(".")
            return f"{head}.{body}.{self.fingerprint(value)}"
        return self.fingerprint(value)

    def add(self, value: str | None, *, searchable: bool = True) -> str:
        """Remember a secret; returns its fingerprint.

        Every secret is replaced where it stands (`is_secret`, `replace`); it is also searched for in
        free text when `searchable` and it cannot be ordinary text (`rules.ordinary`).
        """
        if not value:
            return ""
        mark = self.fingerprint(value)
        if FINGERPRINT_RE.search(value):
            return mark  # a redacted value is no new secret
        with self._lock:
            self._values.add(value)
            if searchable and not ordinary(value):
                replacement = self.mark(value)
                for form in _variants(value):
                    if form not in self._secrets:
                        self._secrets[form] = replacement if form == value else mark
                        self._pattern = None
        return mark

    def cookie(self, name: str, value: str) -> str:
        """A cookie value's fingerprint; the value is registered only when the cookie is secret."""
        if not value:
            return ""
        if secret_cookie(name, value) or self.is_secret(value):
            return self.add(value)
        return self.fingerprint(value)

    def add_basic(self, username: str, password: str) -> None:
        """HTTP Basic sends base64("user:password"); remember that form too."""
        if not password:
            return
        encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
        mark = self.add(password)
        with self._lock:
            self._values.add(encoded)
            self._secrets[encoded] = mark
            self._pattern = None

    def is_secret(self, value: str) -> bool:
        """A registered secret, exactly."""
        with self._lock:
            return value in self._values

    def replace(self, value: str) -> str:
        """A value that is a secret by its position: registered, and its replacement returned."""
        if not value or FINGERPRINT_RE.search(value):
            return value
        self.add(value)
        return self.mark(value)

    def quoted(self, text: str) -> str:
        """Replace every registered secret that stands quoted in `text` (`fill("test")` in a trace's log)."""
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            for form in {json.dumps(value), json.dumps(value, ensure_ascii=False)}:
                if form in text:
                    text = text.replace(form, f'"{self.mark(value)}"')
        return text

    def known(self) -> list[str]:
        with self._lock:
            return list(self._secrets)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._secrets:
                # Longest first, so a JWT is replaced whole before any part of it.
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(_alternative(s) for s in ordered))
            return self._pattern

    def text(self, value: str) -> str:
        """Replace every searched secret in free text `value` (fingerprints already there are kept)."""
        if not self.enabled or not value:
            return value
        pattern = self._compiled()
        if pattern is None:
            return value
        table = self._secrets

        def clean(chunk: str) -> str:
            return pattern.sub(lambda m: table[m.group(0)], chunk)

        out: list[str] = []
        last = 0
        for found in FINGERPRINT_RE.finditer(value):
            out.append(clean(value[last : found.start()]))
            out.append(found.group(0))
            last = found.end()
        out.append(clean(value[last:]))
        return "".join(out)

    def data(self, blob: bytes) -> bytes:
        """Replace every searched secret in bytes that are UTF-8 text; other bytes by their raw forms."""
        if not self.enabled:
            return blob
        try:
            decoded = blob.decode("utf-8")
        except UnicodeDecodeError:
            return self._binary(blob)
        return self.text(decoded).encode("utf-8")

    def _binary(self, blob: bytes) -> bytes:
        with self._lock:
            table = sorted(self._secrets.items(), key=lambda kv: len(kv[0]), reverse=True)
        for form, mark in table:
            if len(form) >= _WHOLE_TOKEN_BELOW:  # short forms would hit random bytes
                blob = blob.replace(form.encode("utf-8"), mark.encode("utf-8"))
        return blob

    def find_jwts(self, text: str) -> list[str]:
        return JWT_RE.findall(text)
