"""What every engine's exchange builder shares: headers redacted by structure, and what raw headers say.

The Playwright recorder (flows/recorder.py) and WebKitGTK over WebDriver (flows/webkit_evidence.py) see
requests through different windows; once they hold a request's and its response's raw headers, the
rules below turn them into `Exchange` fields the same way for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loginprobe.evidence import AuthorizationSent, Challenge, Header, JwtRecord, header_value, header_values
from loginprobe.jwts import decode_all
from loginprobe.parsing import (
    describe_authorization,
    parse_challenge_headers,
    parse_cookie_header,
    parse_http_date,
    parse_set_cookie,
)
from loginprobe.secrets import CREDENTIAL_HEADERS, Redactor
from loginprobe.secrets import structure as by_structure


def clean_url(url: str, redactor: Redactor) -> str:
    """Register credential-like query and fragment values, then redact the URL."""
    return by_structure.url(url, redactor)


def redact_request_headers(headers: list[Header], redactor: Redactor) -> list[Header]:
    """Request headers as written: credentials as scheme + fingerprint, cookie values fingerprinted."""
    out: list[Header] = []
    for name, value in headers:
        lower = name.lower()
        if lower in CREDENTIAL_HEADERS:
            described = describe_authorization(value, redactor)
            out.append((name, f"{described.scheme} {described.fingerprint}".strip()))
        elif lower == "cookie":
            pairs = [p.strip() for p in value.split(";") if p.strip()]
            shown = []
            for pair in pairs:
                cookie_name, _, cookie_value = pair.partition("=")
                shown.append(f"{cookie_name}={redactor.cookie(cookie_name.strip(), cookie_value)}")
            out.append((name, "; ".join(shown)))
        else:
            out.append((name, redactor.text(value)))
    return out


def redact_response_headers(headers: list[Header], redactor: Redactor) -> list[Header]:
    """Response headers as written: each Set-Cookie line's value registered, then redacted."""
    out: list[Header] = []
    for name, value in headers:
        if name.lower() == "set-cookie":
            for line in value.split("\n"):  # Playwright joins repeated Set-Cookie with newlines
                parse_set_cookie(line, redactor)  # registers the value before redacting the line
                out.append((name, by_structure.set_cookie_line(line, redactor)))
        else:
            out.append((name, redactor.text(value)))
    return out


@dataclass(frozen=True, slots=True)
class HeaderFacts:
    """What one exchange's raw headers say: the server's clock, the credential sent, cookies, challenges."""

    server_date: datetime | None
    authorization: AuthorizationSent | None
    cookies_sent: list[str]
    challenges: list[Challenge]
    proxy_challenges: list[Challenge]


def read_headers(
    request_headers: list[Header],
    response_headers: list[Header],
    redactor: Redactor,
    exchange_id: int,
    jwts: list[JwtRecord],
) -> HeaderFacts:
    """Read raw headers once; every JWT in an Authorization header is decoded and appended to `jwts`."""
    server_date = parse_http_date(header_value(response_headers, "date"))
    authorization = None
    for value in header_values(request_headers, "authorization"):
        authorization = describe_authorization(value, redactor)
        found_in = "request header Authorization"
        jwts.extend(
            decode_all(
                value, found_in=found_in, redactor=redactor, exchange_id=exchange_id, server_date=server_date
            )
        )
    cookies_sent = [
        name for value in header_values(request_headers, "cookie") for name in parse_cookie_header(value)
    ]
    return HeaderFacts(
        server_date=server_date,
        authorization=authorization,
        cookies_sent=cookies_sent,
        challenges=parse_challenge_headers(header_values(response_headers, "www-authenticate")),
        proxy_challenges=parse_challenge_headers(header_values(response_headers, "proxy-authenticate")),
    )
