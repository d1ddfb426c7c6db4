"""Which names and values are secrets: the one list the recorder, the parsers and the redaction share.

A value is a secret by *position* (the header, cookie, parameter or field it sits in) or because it was
configured or discovered as one. Names are never secrets: `password` the field name is kept, whatever
the password is.
"""

from __future__ import annotations

import re

# Request headers whose value after the scheme is a credential (RFC 9110 §11.6.2, §11.7.2).
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization"})
# Headers whose whole value is a credential (API keys, session and CSRF tokens sent as headers).
SECRET_HEADER = re.compile(
    r"^(x-)?(api[-_]?key|auth[-_]?token|access[-_]?token|session[-_]?(id|token)|[cx]srf[-_]?token|"
    r"amz-security-token)$|-(api[-_]?key|token|secret|signature)$",
    re.IGNORECASE,
)
# Form fields, query parameters and JSON members whose value is a credential (RFC 6749 names included).
SECRET_FIELD = re.compile(
    r"^(pass|password|passwd|pwd|new[-_]?password|current[-_]?password|old[-_]?password|secret|"
    r"client[-_]?secret|api[-_]?key|apikey|access[-_]?token|refresh[-_]?token|id[-_]?token|token|"
    r"auth[-_]?token|session[-_]?token|code[-_]?verifier|assertion|client[-_]?assertion|otp|totp)$",
    re.IGNORECASE,
)
# Names that are credentials in a query string or a form, but ordinary words as JSON members
# (a service worker's `state`, a key press's `key`, an error `code`).
SECRET_PARAM_ONLY = re.compile(
    r"^(code|key|state|nonce|session|sid|auth|authorization|pin|sig|signature|"
    r"x-amz-signature|x-amz-security-token|x-amz-credential)$",
    re.IGNORECASE,
)
# Cookie names that carry a session or a credential (PHPSESSID, connect.sid, __Host-auth, XSRF-TOKEN…).
SESSION_COOKIE = re.compile(
    r"sess|sid|auth|token|jwt|login|remember|csrf|xsrf|secret|identity|saml|oidc|oauth|^__(host|secure)-",
    re.IGNORECASE,
)
# Three base64url segments, the first two JSON objects (`{"` encodes to `eyJ`); the signature may be
# empty (`alg: none`).
JWT_RE = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# Long strings of token characters with both letters and digits: session ids, opaque tokens, keys.
_TOKEN_VALUE = re.compile(r"[A-Za-z0-9+/=_.:%~-]{16,}")
# Trace actions that type into a field; the typed text is a secret when the selector looks like one.
TYPING_METHODS = frozenset({"fill", "type", "pressSequentially"})
SECRET_SELECTOR = re.compile(r"pass|pwd|secret|token|api[-_]?key|otp|pin\b", re.IGNORECASE)

# Values shorter than this are replaced only where they stand (a cookie value, a password field),
# never searched in text: too many ordinary strings contain them.
MIN_SEARCH_LENGTH = 4
_ORDINARY = re.compile(r"[A-Za-z]+|[+-]?[0-9]+([.,][0-9]+)*")


def secret_field(name: str) -> bool:
    """A JSON member, form field or parameter whose value is a credential by its name."""
    return bool(SECRET_FIELD.match(name))


def secret_param(name: str) -> bool:
    """A query or form parameter whose value is a credential by its name."""
    return bool(SECRET_FIELD.match(name) or SECRET_PARAM_ONLY.match(name))


def secret_header(name: str) -> bool:
    """A header whose value (after a scheme, for Authorization) is a credential."""
    lowered = name.lower()
    return lowered in CREDENTIAL_HEADERS or bool(SECRET_HEADER.search(lowered))


def looks_like_token(value: str) -> bool:
    """A JWT, or a long run of token characters mixing letters and digits (or very long: 24+)."""
    if JWT_RE.fullmatch(value):
        return True
    if not _TOKEN_VALUE.fullmatch(value):
        return False
    # A random token of 24 URL-safe characters lacks a digit about once in fifty.
    return len(value) >= 24 or (any(c.isdigit() for c in value) and any(c.isalpha() for c in value))


def secret_cookie(name: str, value: str) -> bool:
    """A cookie that holds a session or credential: by its name, or a token-looking value."""
    return bool(value) and (bool(SESSION_COOKIE.search(name)) or looks_like_token(value))


def ordinary(value: str) -> bool:
    """A value that can be ordinary text (a word, a number, a JSON keyword, punctuation, short).

    Such a value is replaced where it stands as a secret, never searched for in free text: replacing
    every `test` or `true` corrupts documents, and a fingerprint in place of a word tells the reader
    what the secret was.
    """
    if len(value) < MIN_SEARCH_LENGTH or sum(c.isalnum() for c in value) < MIN_SEARCH_LENGTH:
        return True
    return bool(_ORDINARY.fullmatch(value.strip()))
