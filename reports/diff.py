"""Differences between two runs' cookies and protected-request headers (shown, never judged)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from loginprobe.evidence import CookieRecord, Header, RunEvidence
from loginprobe.secrets import CREDENTIAL_HEADERS

ChangeKind = Literal["added", "removed", "changed"]
# Credentials differ on every login; their scheme (and cookie names) are what a comparison needs.
VALUE_FREE_HEADERS = {"cookie"}
SCHEME_ONLY_HEADERS = CREDENTIAL_HEADERS  # shown by scheme only: the rest is the credential


@dataclass(frozen=True, slots=True)
class Difference:
    """One key present on one side only, or with different values on the two sides."""

    kind: ChangeKind
    key: str
    before: str
    after: str


def _expires(value: float | None) -> str:
    if value is None or value < 0:
        return "session"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cookie_description(cookie: CookieRecord, *, with_value: bool) -> str:
    """A cookie's attributes (and its value fingerprint when asked) as one line."""
    parts = [f"domain={cookie.domain}", f"path={cookie.path}", f"expires={_expires(cookie.expires)}"]
    parts += [flag for flag, on in (("HttpOnly", cookie.http_only), ("Secure", cookie.secure)) if on]
    if cookie.same_site:
        parts.append(f"SameSite={cookie.same_site}")
    if with_value:
        parts.insert(0, f"value={cookie.value_fingerprint}")
    return "; ".join(parts)


def _diff(before: dict[str, str], after: dict[str, str]) -> list[Difference]:
    out: list[Difference] = []
    for key in sorted(before.keys() | after.keys()):
        if key not in after:
            out.append(Difference("removed", key, before[key], ""))
        elif key not in before:
            out.append(Difference("added", key, "", after[key]))
        elif before[key] != after[key]:
            out.append(Difference("changed", key, before[key], after[key]))
    return out


def _jar(run: RunEvidence, *, with_values: bool) -> dict[str, str]:
    jar: dict[str, str] = {}
    for cookie in run.after.cookies:
        jar[f"jar {cookie.name} ({cookie.domain}{cookie.path})"] = cookie_description(
            cookie, with_value=with_values
        )
    return jar


def _sent(run: RunEvidence) -> dict[str, str]:
    protected = run.protected
    if protected is None:
        return {}
    names = ", ".join(protected.cookies_sent) or "(none)"
    return {"sent on the protected request": names}


def cookie_differences(a: RunEvidence, b: RunEvidence, *, with_values: bool = True) -> list[Difference]:
    """Cookies in the jar after each run, and the cookie names the protected request carried."""
    return _diff(
        {**_jar(a, with_values=with_values), **_sent(a)}, {**_jar(b, with_values=with_values), **_sent(b)}
    )


def comparable_headers(headers: list[Header]) -> dict[str, str]:
    """Headers by lower-cased name (repeats joined); cookie values and credentials reduced to names/scheme."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for name, value in headers:
        key = name.lower()
        if key in VALUE_FREE_HEADERS:
            value = "; ".join(part.split("=", 1)[0].strip() for part in value.split(";"))
        elif key in SCHEME_ONLY_HEADERS:
            value = value.split(" ", 1)[0]
        grouped[key].append(value)
    return {key: " | ".join(values) for key, values in grouped.items()}


def header_differences(a: RunEvidence, b: RunEvidence) -> list[Difference]:
    """Request headers of the protected request in each run."""
    before = comparable_headers(a.protected.request_headers) if a.protected else {}
    after = comparable_headers(b.protected.request_headers) if b.protected else {}
    return _diff(before, after)
