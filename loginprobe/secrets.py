"""Secret fingerprints: the one way a secret value may appear in anything loginprobe writes.

A fingerprint is `‹secret:xxxxxxxx›`, an HMAC-SHA256 of the value under a key kept on this machine
(`~/.local/share/loginprobe/fingerprint.key`, mode 0600), so the same secret gets the same fingerprint
in every run here (runs stay comparable) while a short or guessable password cannot be recovered
from its fingerprint by hashing candidates.

`Redactor` knows every secret of a run (configured ones, and those discovered while capturing:
cookie values, Authorization credentials, tokens in storage and token responses) and replaces each,
in the encodings it travels in (raw, URL-encoded, JSON-escaped, Basic's base64), by its fingerprint.
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

FINGERPRINT_RE = re.compile(r"‹secret:[0-9a-f]{8}›")
# Secrets shorter than this are not searched inside arbitrary text (too many false hits);
# they are still fingerprinted where their position is known (a cookie value, a header).
MIN_SEARCH_LENGTH = 4
_JWT_RE = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+")

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
    forms = {value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]}
    return {form for form in forms if form}


class Redactor:
    """Collects a run's secrets and removes them from text, bytes and header values."""

    def __init__(self, secrets: Iterable[str] = (), *, enabled: bool = True, key_path: Path | None = None):
        self.enabled = enabled
        self._key_path = key_path
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}  # variant -> fingerprint
        self._pattern: re.Pattern[str] | None = None
        for value in secrets:
            self.add(value)

    def fingerprint(self, value: str) -> str:
        return fingerprint(value, self._key_path)

    def add(self, value: str | None, *, searchable: bool = True) -> str:
        """Remember a secret; returns its fingerprint."""
        if not value:
            return ""
        mark = self.fingerprint(value)
        if searchable and len(value) >= MIN_SEARCH_LENGTH:
            with self._lock:
                for form in _variants(value):
                    if form not in self._secrets:
                        self._secrets[form] = mark
                        self._pattern = None
                # A JWT keeps its header and claims readable; only the signature goes.
                if _JWT_RE.fullmatch(value):
                    head, body, _sig = value.split(".")
                    self._secrets[value] = f"{head}.{body}.{mark}"
        return mark

    def add_basic(self, username: str, password: str) -> None:
        """HTTP Basic sends base64("user:password"); remember that form too."""
        encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
        self.add(password)
        mark = self.fingerprint(password)
        with self._lock:
            self._secrets[encoded] = mark
            self._pattern = None

    def known(self) -> list[str]:
        with self._lock:
            return list(self._secrets)

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._secrets:
                # Longest first, so a JWT is replaced whole before any part of it.
                ordered = sorted(self._secrets, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
            return self._pattern

    def text(self, value: str) -> str:
        """Replace every known secret in `value`."""
        if not self.enabled or not value:
            return value
        pattern = self._compiled()
        if pattern is None:
            return value
        table = self._secrets
        return pattern.sub(lambda m: table[m.group(0)], value)

    def data(self, blob: bytes) -> bytes:
        """Replace every known secret in bytes that are UTF-8 text; other bytes pass unchanged."""
        if not self.enabled:
            return blob
        try:
            decoded = blob.decode("utf-8")
        except UnicodeDecodeError:
            return self._binary(blob)
        return self.text(decoded).encode("utf-8")

    def _binary(self, blob: bytes) -> bytes:
        for form, mark in sorted(self._secrets.items(), key=lambda kv: len(kv[0]), reverse=True):
            blob = blob.replace(form.encode("utf-8"), mark.encode("utf-8"))
        return blob

    def find_jwts(self, text: str) -> list[str]:
        return _JWT_RE.findall(text)
