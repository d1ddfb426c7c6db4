"""JSON Web Tokens as loginprobe reads them: found in text, decoded without verification, timed against
the server's clock (RFC 7519). Nothing is verified: loginprobe reports what a token says."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal

import jwt

from loginprobe.evidence import JwtRecord
from loginprobe.secrets import JWT_RE, Redactor

if TYPE_CHECKING:
    from jwt.types import Options

# Three base64url segments, the first two being JSON objects (`{"` encodes to `eyJ`). The signature
# may be empty: an unsecured `alg: none` token (RFC 7519 §6) is exactly what a diagnosis wants to see.
_JWT_SHAPE = JWT_RE  # one definition, in loginprobe.secrets.rules

# Nothing is verified: loginprobe reports what a token says, the server decides whether to trust it.
# `verify_sub`/`verify_jti` too, so a non-string `sub` (seen in the wild) is reported, not rejected.
_UNVERIFIED: Options = {
    "verify_signature": False,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


def unverified_jwt(token: str) -> tuple[dict[str, object], dict[str, object]] | None:
    """A JWT's header and claims without verifying anything; None when it is not a JWT."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options=_UNVERIFIED)
    except (jwt.PyJWTError, UnicodeError):  # not a JWT (PyJWTError), or text that is not encodable
        return None
    return dict(header), dict(claims)


def find_jwts(text: str) -> list[str]:
    """JWT-looking substrings of `text`, de-duplicated, in order of first appearance."""
    return list(dict.fromkeys(_JWT_SHAPE.findall(text)))


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already (HTTP dates use it too)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _numeric_date(claims: dict[str, object], name: str) -> tuple[float, datetime] | None:
    """A NumericDate claim (RFC 7519 §2) as seconds and aware UTC datetime; None if absent or odd."""
    raw = claims.get(name)
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        seconds = float(raw)
        return seconds, datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):  # huge, NaN or infinite: not a usable date
        return None


def decode_all(
    text: str,
    *,
    found_in: str,
    redactor: Redactor,
    exchange_id: int | None = None,
    server_date: datetime | None = None,
) -> list[JwtRecord]:
    """Every JWT in `text` that decodes, each a record (see `decode_jwt`); token-shaped ones registered."""
    records = []
    for token in find_jwts(text):
        record = decode_jwt(
            token, found_in=found_in, redactor=redactor, exchange_id=exchange_id, server_date=server_date
        )
        if record is not None:
            records.append(record)
    return records


def decode_jwt(
    token: str,
    *,
    found_in: str,
    redactor: Redactor,
    exchange_id: int | None = None,
    server_date: datetime | None = None,
    now: datetime | None = None,
) -> JwtRecord | None:
    """Decode a JWT without verification into a record timed against the server's clock if known."""
    if _JWT_SHAPE.fullmatch(token):
        # Registered even when it does not decode: a token-shaped string is still a secret.
        redactor.add(token)
    decoded = unverified_jwt(token)
    if decoded is None:
        return None
    fingerprint = redactor.add(token)
    header, claims = decoded
    expires = _numeric_date(claims, "exp")
    not_before = _numeric_date(claims, "nbf")
    issued = _numeric_date(claims, "iat")
    reference: Literal["server-date", "local-clock"]
    if server_date is not None:
        reference_time, reference = as_utc(server_date), "server-date"
    else:
        reference_time, reference = as_utc(now or datetime.now(UTC)), "local-clock"
    return JwtRecord(
        found_in=found_in,
        exchange_id=exchange_id,
        fingerprint=fingerprint,
        header=header,
        claims=claims,
        expires_at=expires[1] if expires else None,
        not_before=not_before[1] if not_before else None,
        issued_at=issued[1] if issued else None,
        reference_time=reference_time,
        reference=reference,
        seconds_to_expiry=expires[0] - reference_time.timestamp() if expires else None,
    )
