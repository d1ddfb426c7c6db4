"""Findings (what one check saw) and the verdict (one primary cause per site, plus contributing ones).

Cause ids are a stable public vocabulary: they appear in report.json, JUnit output and the README.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from loginprobe.evidence import Engine, Model

CauseId = Literal[
    "none",
    "missing-credentials",
    "invalid-credentials",
    "expired-token",
    "wrong-auth-scheme",
    "invalid-api-key",
    "insufficient-permissions",
    "stale-cache",
    "stale-cookie",
    "cookie-blocked",
    "wrong-url",
    "proxy-interference",
    "server-misconfiguration",
    "unknown",
]

CAUSES: dict[str, str] = {
    "none": "Every login reached the protected resource.",
    "missing-credentials": "The protected request carried no credentials at all.",
    "invalid-credentials": "Credentials were sent and rejected, in every browser and mode.",
    "expired-token": "A token was past its expiry (or not yet valid) when the server saw it.",
    "wrong-auth-scheme": "The client authenticated with a scheme the server does not ask for.",
    "invalid-api-key": "The API key was missing, in the wrong place, or rejected.",
    "insufficient-permissions": "The user was authenticated but not allowed (scope, role, 403).",
    "stale-cache": "A cached response or cached state kept failing after a good login.",
    "stale-cookie": "A cookie left from an earlier session broke the login.",
    "cookie-blocked": "The browser refused to store or send the session cookie.",
    "wrong-url": "A typo or a redirect to another origin or scheme lost the credentials.",
    "proxy-interference": "A proxy between browser and server changed the outcome.",
    "server-misconfiguration": "The server's authentication setup is broken (no challenge, flapping, ...).",
    "unknown": "Logins failed, but no check could name the cause from the evidence.",
}


class Finding(Model):
    """One cause a check saw, with the exact evidence and the next step."""

    cause: CauseId
    check: str  # the registered check name
    confidence: float = Field(ge=0.0, le=1.0)
    summary: str  # one concrete sentence with the actual values
    run_id: str | None = None
    exchange_id: int | None = None
    next_step: str
    engines: list[Engine] = Field(default_factory=list)


class Verdict(Model):
    """The diagnosis of one site."""

    site: str
    primary: CauseId
    confidence: float = Field(ge=0.0, le=1.0)
    summary: str
    contributing: list[CauseId] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    engines_failing: list[Engine] = Field(default_factory=list)
    engines_passing: list[Engine] = Field(default_factory=list)
    engine_specific: bool = False  # the failure shows in some engines only
    next_step: str = ""
