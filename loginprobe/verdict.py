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
    "invalid-credentials": "Credentials were sent and rejected (in every browser and mode, or a stored one).",
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


# Confidence bands. The bands are the real precedence between causes (loginprobe/diagnose.py), so a
# check picks one of these names rather than a bare number.
# 0.90-1.00: direct evidence the server or engine states (error="insufficient_scope", a 407, a CDP
# cookie block reason, a cache hit flag), or a differential run confirmed by direct evidence.
STATED = 0.95
DIRECT = 0.9
# 0.75-0.89: direct evidence needing one inference (attributes vs the jar, a replayed Date, engines).
INFERRED_STRONG = 0.85
INFERRED = 0.8
INFERRED_WEAK = 0.75
# 0.50-0.74: a differential result alone (an ablation that fixes it) or a heuristic.
DIFFERENTIAL = 0.7
HEURISTIC = 0.6
HEURISTIC_WEAK = 0.55
PRIMARY_FLOOR = 0.5  # the least confidence that may name the primary cause
# Below 0.50: hygiene, reported as a contributing cause and never as the primary one.
HYGIENE_STRONG = 0.45
HYGIENE = 0.4


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
    # Failures off the auth path (a CDN font that did not resolve): listed for the reader, never a cause.
    context: list[str] = Field(default_factory=list)
    # Whether signing in again fixes a failing returning visit (the user's workaround), per engine.
    signing_in_again: str | None = None
