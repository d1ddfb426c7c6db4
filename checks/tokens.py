"""Tokens past their time, for another audience or issuer, or never refreshed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime

from loginprobe.checks.common import (
    CLOCK_SKEW_S,
    auth_path,
    effective_status,
    error_texts,
    failing_runs,
    fmt_duration,
    fmt_time,
    make_finding,
    mentions,
    sent_cookie_names,
    status_text,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import Exchange, JwtRecord, RunEvidence, SiteEvidence
from loginprobe.verdict import (
    DIFFERENTIAL,
    DIRECT,
    HEURISTIC,
    INFERRED,
    INFERRED_STRONG,
    INFERRED_WEAK,
    STATED,
    Finding,
)

EXPIRY_WORDS = r"expir|not (yet )?valid|\bexp\b|\bnbf\b|lifetime|too old|stale"
STORED_IN = ("localstorage", "sessionstorage", "cookie", "storage")


def _rejected(run: RunEvidence) -> list[Exchange]:
    return [ex for ex in auth_path(run) if effective_status(ex) in (401, 403)]


def _jwt_of(run: RunEvidence, ex: Exchange) -> JwtRecord | None:
    """The JWT the request carried (found in its headers, or the Authorization's fingerprint)."""
    fingerprint = ex.authorization.fingerprint if ex.authorization is not None else None
    for jwt in run.jwts:
        if jwt.exchange_id == ex.id and jwt.found_in.lower().startswith("request"):
            return jwt
    for jwt in run.jwts:
        if fingerprint and (jwt.fingerprint == fingerprint or jwt.fingerprint in fingerprint):
            return jwt
    return None


def _reference(jwt: JwtRecord, ex: Exchange) -> tuple[datetime | None, str]:
    """The moment to judge the token at: the response's Date, else the JWT's own reference."""
    if ex.server_date is not None:
        return ex.server_date, "the server's Date"
    if jwt.reference_time is not None:
        label = "the server's Date" if jwt.reference == "server-date" else "the local clock"
        return jwt.reference_time, label
    return None, "unknown"


def _time_problem(jwt: JwtRecord, ex: Exchange) -> tuple[float, str] | None:
    """(confidence, sentence) when exp/nbf/iat put the token outside its validity at the reference."""
    ref, label = _reference(jwt, ex)
    if ref is None:
        return None
    server_clock = label == "the server's Date"
    if jwt.expires_at is not None:
        late = (ref - jwt.expires_at).total_seconds()
        if late > CLOCK_SKEW_S:
            return (
                STATED if server_clock else INFERRED,
                f"`exp` was {fmt_time(jwt.expires_at)}, {label} said {fmt_time(ref)} "
                f"({fmt_duration(late)} later)",
            )
        if late >= 0:
            return (
                DIFFERENTIAL,
                f"`exp` was {fmt_time(jwt.expires_at)}, {label} said {fmt_time(ref)} "
                f"({late:.0f} s later, inside the {CLOCK_SKEW_S:.0f} s skew many servers allow)",
            )
    if jwt.not_before is not None:
        early = (jwt.not_before - ref).total_seconds()
        if early > CLOCK_SKEW_S:
            return (
                DIRECT if server_clock else INFERRED_WEAK,
                f"`nbf` was {fmt_time(jwt.not_before)}, {fmt_duration(early)} after {label} "
                f"({fmt_time(ref)}): the token was not valid yet",
            )
    if jwt.issued_at is not None:
        ahead = (jwt.issued_at - ref).total_seconds()
        if ahead > CLOCK_SKEW_S:
            return (
                INFERRED if server_clock else HEURISTIC,
                f"`iat` was {fmt_time(jwt.issued_at)}, {fmt_duration(ahead)} after {label} "
                f"({fmt_time(ref)}): the issuer's and the server's clocks disagree",
            )
    return None


def _who(jwt: JwtRecord) -> str:
    sub = jwt.claims.get("sub")
    return f", sub {sub}" if isinstance(sub, str) else ""


# An expiry in a server's own words: error codes (`access_token_is_expired`, `token_expired`,
# `expired_token`, `jwt expired`) and sentences naming a token, signature or session that expired
# ("Signature has expired", "Token is invalid or expired"). A bare "expired" (a password, a trial) is not one.
TOKEN_EXPIRY = re.compile(
    r"(token|jwt|signature|session|access|credential)[\w\s'\"-]{0,30}expir"
    r"|expir[\w\s'\"-]{0,30}(token|jwt|signature|session)",
    re.IGNORECASE,
)
# JSON members error bodies name the problem in (OAuth 2, RFC 7807, Django REST framework, Express).
ERROR_MEMBERS = ("error", "error_description", "code", "message", "detail", "title", "error_code", "reason")


def _json_members(value: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(member path, text) of every string in an error body under one of ERROR_MEMBERS."""
    if isinstance(value, dict):
        for key, item in value.items():
            where_ = f"{path}.{key}" if path else str(key)
            if isinstance(item, str) and str(key).lower() in ERROR_MEMBERS:
                yield where_, item
            else:
                yield from _json_members(item, where_)
    elif isinstance(value, list):
        for index, item in enumerate(value[:20]):
            yield from _json_members(item, f"{path}[{index}]")


def expiry_stated(ex: Exchange) -> tuple[float, str] | None:
    """Where and how the server itself said that a token expired: (confidence, "where: what").

    Read from the RFC 6750 challenge (`error="invalid_token"` with an expiry in its description),
    else from a JSON error body's members, else from the body's text.
    """
    for ch in ex.challenges:
        description = ch.error_description or ""
        if (ch.error or "").lower() == "invalid_token" and re.search(EXPIRY_WORDS, description, re.I):
            return (
                DIRECT,
                f'the WWW-Authenticate challenge: error="invalid_token", error_description="{description}"',
            )
        if (ch.error or "").lower() in ("expired_token", "token_expired"):
            return DIRECT, f'the WWW-Authenticate challenge: error="{ch.error}"'
    body = ex.body_excerpt or ""
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    for member, text in _json_members(parsed):
        if TOKEN_EXPIRY.search(text):
            return DIRECT, f'the JSON body\'s `{member}`: "{text[:120]}"'
    found = TOKEN_EXPIRY.search(body)
    if found:
        start = max(0, found.start() - 40)
        return INFERRED_STRONG, f'the response body: "{" ".join(body[start : found.end() + 40].split())}"'
    return None


def _session_outlived(run: RunEvidence, ex: Exchange) -> str | None:
    """When the request carried a session cookie and no token: the app's session outlived its token.

    A relying party keeps the access token on the server side; the browser only shows its session.
    """
    if ex.authorization is not None or any(jwt.exchange_id == ex.id for jwt in run.jwts):
        return None
    names = sent_cookie_names(ex)
    if not names:
        return None
    kept = list(dict.fromkeys(c.name for c in run.before.cookies if c.name in names))
    since = ""
    if kept:
        since = (
            ", kept from the earlier visit"
            if set(kept) == set(names)
            else f", {', '.join(kept)} kept from the earlier visit"
        )
    return (
        f"the request carried no token, only the app's session (cookies {', '.join(dict.fromkeys(names))}"
        f"{since}): the session outlived the access token the app holds for it"
    )


@check(cause="expired-token")
def expired_token(ev: SiteEvidence) -> Iterator[Finding]:
    """A token was past `exp` (or before `nbf`/`iat`) by the server's clock, or the server said it expired."""
    for run in failing_runs(ev):
        for ex in _rejected(run):
            jwt = _jwt_of(run, ex)
            said = mentions(error_texts(ex), EXPIRY_WORDS)
            server_said = f"; the server said: {said[:160]}" if said else ""
            problem = _time_problem(jwt, ex) if jwt is not None else None
            if jwt is not None and problem is not None:
                confidence, sentence = problem
                if said:
                    confidence = max(confidence, STATED)
                yield make_finding(
                    confidence,
                    f"{sentence} when {where(run, ex)} answered {ex.status or ex.failure} "
                    f"(token from {jwt.found_in}, {jwt.fingerprint}{_who(jwt)}){server_said}.",
                    "Get a new token (sign in again or refresh it) and check the issuer's and the "
                    "server's clocks (NTP) if the token was fresh when issued.",
                    run,
                    ex,
                )
                continue
            stated = expiry_stated(ex)
            if stated is None:
                continue
            confidence, read = stated
            outlived = _session_outlived(run, ex)
            if outlived:
                yield make_finding(
                    confidence,
                    f"{where(run, ex)} answered {status_text(ex)} and said the token expired (read from "
                    f"{read}); {outlived}.",
                    "Sign in again for a new token; on the app, refresh the access token with its refresh "
                    "token before it expires, or end the session when its token expires.",
                    run,
                    ex,
                )
            else:
                yield make_finding(
                    confidence,
                    f"{where(run, ex)} answered {status_text(ex)} and said the token expired (read from "
                    f"{read}); no token the browser could decode was on the request.",
                    "Get a new access token (sign in again or use the refresh token) and retry.",
                    run,
                    ex,
                )


def _claim_list(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


@check(cause="invalid-credentials")
def wrong_audience_or_issuer(ev: SiteEvidence) -> Iterator[Finding]:
    """A refused token names another audience or issuer than the site's configuration expects."""
    for run in failing_runs(ev):
        exp = run.expectations
        if not exp.audience and not exp.issuer:
            continue
        for ex in _rejected(run):
            jwt = _jwt_of(run, ex)
            if jwt is None:
                continue
            problems = []
            audiences = _claim_list(jwt.claims.get("aud"))
            if exp.audience and exp.audience not in audiences:
                problems.append(f"`aud` is {', '.join(audiences) or '(missing)'}, not {exp.audience}")
            issuer = jwt.claims.get("iss")
            if exp.issuer and str(issuer or "").rstrip("/") != exp.issuer.rstrip("/"):
                problems.append(f"`iss` is {issuer or '(missing)'}, not {exp.issuer}")
            if problems:
                yield make_finding(
                    INFERRED_STRONG,
                    f"The token {where(run, ex)} sent ({jwt.fingerprint}{_who(jwt)}) was refused with "
                    f"{ex.status}: {'; '.join(problems)}.",
                    "Request the token for this API's audience from the expected issuer (check the "
                    "client's `audience`/`resource` parameter and the issuer URL).",
                    run,
                    ex,
                )


def _stored_before(run: RunEvidence, jwt: JwtRecord) -> str | None:
    """Where the returning browser kept this token before the run started, or None."""
    for area in run.before.storage:
        for kind, values in (("localStorage", area.local), ("sessionStorage", area.session)):
            for key, value in values.items():
                if jwt.fingerprint and jwt.fingerprint in value:
                    return f"{kind} {key} of {area.origin}"
    for cookie in run.before.cookies:
        if jwt.fingerprint and jwt.fingerprint in cookie.value_fingerprint:
            return f"cookie {cookie.name}"
    if any(word in jwt.found_in.lower() for word in STORED_IN) and run.mode != "fresh":
        return jwt.found_in
    return None


@check(cause="expired-token")
def refresh_never_happened(ev: SiteEvidence) -> Iterator[Finding]:
    """A returning browser reused an expired stored token and never asked for a new one."""
    for run in failing_runs(ev):
        for ex in _rejected(run):
            jwt = _jwt_of(run, ex)
            if jwt is None or _time_problem(jwt, ex) is None:
                continue
            stored = _stored_before(run, jwt)
            if stored is None:
                continue
            later = [item for item in run.exchanges if item.id > ex.id and item.authorization is not None]
            if any(
                item.authorization and item.authorization.fingerprint != jwt.fingerprint for item in later
            ):
                continue  # a new token was tried afterwards
            refresh_keys = [
                f"{key} ({area.origin})"
                for area in run.before.storage
                for key in [*area.local, *area.session]
                if "refresh" in key.lower()
            ]
            extra = f"; a refresh token was stored under {', '.join(refresh_keys)}" if refresh_keys else ""
            yield make_finding(
                DIFFERENTIAL,
                f"{run.label} reused the token kept in {stored} ({jwt.fingerprint}) for {where(run, ex)}, "
                f"got {ex.status or ex.failure} and never requested a new token{extra}.",
                "Make the client refresh (or drop and re-acquire) a stored token when it expires or when "
                "the API answers 401 with invalid_token.",
                run,
                ex,
            )
