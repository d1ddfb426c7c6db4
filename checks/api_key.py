"""API keys: missing, in the wrong header or parameter, or refused."""

from __future__ import annotations

import re
from collections.abc import Iterator

from loginprobe.checks.common import (
    api_key_sent,
    effective_status,
    error_texts,
    failing_runs,
    make_finding,
    protected_exchange,
    server_says,
    status_text,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import SiteEvidence
from loginprobe.verdict import DIRECT, INFERRED_STRONG, INFERRED_WEAK, Finding

REFUSED_WORDS = r"revoked|expired|disabled|unknown|invalid|not valid|not found|inactive|suspended|quota"
QUERY_WORDS = re.compile(r"\bquery\b|\bparameter\b|\bparam\b|\?[\w-]+=", re.IGNORECASE)
HEADER_WORDS = re.compile(r"\bheader\b", re.IGNORECASE)
# "Authorization Required" is the title of nginx's and Apache's stock 401 page, sent whatever arrived.
MISSING_WORDS = re.compile(
    r"\bno\b|missing|(?<!authorization )(?<!authorisation )required|absent|not (provided|present|found in)",
    re.IGNORECASE,
)
HEADER_NAME = re.compile(r"\b(?:x-[a-z0-9-]+|authorization|api-?key|apikey)\b", re.IGNORECASE)


def _server_location(texts: list[str], name: str, sent_in: str) -> str | None:
    """Where the server's words say the key belongs, when that differs from where it was sent."""
    for text in texts:
        if sent_in.startswith("header") and QUERY_WORDS.search(text):
            return "the query string"
        if sent_in.startswith("query") and HEADER_WORDS.search(text):
            return "a header"
        for other in HEADER_NAME.findall(text):
            if other.lower() != name.lower() and other.lower() not in ("api-key", "apikey", "authorization"):
                return f"the header {other}"
    return None


@check(cause="invalid-api-key")
def invalid_api_key(ev: SiteEvidence) -> Iterator[Finding]:
    """The API key was missing, sent where the server does not read it, or refused."""
    for run in failing_runs(ev):
        exp = run.expectations
        if exp.flow != "api-key" and not exp.api_key_name:
            continue
        ex = protected_exchange(run)
        if ex is None or effective_status(ex) not in (401, 403):
            continue
        name = exp.api_key_name or "the API key"
        configured = f"{exp.api_key_location or 'header'} {name}"
        sent_in = api_key_sent(run, ex)
        texts = error_texts(ex)
        said = server_says(ex)
        server_said = f" (the server said: {said[:160]})" if said else ""
        if sent_in is None:
            yield make_finding(
                DIRECT,
                f"{where(run, ex)} carried no API key in the {configured} and got {status_text(ex)}"
                f"{server_said}.",
                f"Send the key in the {configured} (check the client code that should add it).",
                run,
                ex,
            )
            continue
        elsewhere = _server_location(texts, name, sent_in)
        missing = any(MISSING_WORDS.search(t) for t in texts)
        if elsewhere or missing:
            place = elsewhere or "another place than where it was sent"
            yield make_finding(
                DIRECT,
                f"{where(run, ex)} sent the key in the {sent_in}, but the server answered {status_text(ex)} "
                f"as if no key came and points to {place}{server_said}.",
                f"Send the key where the server reads it ({place}): update the site's api key location/name.",
                run,
                ex,
            )
            continue
        refused = next((t for t in texts if re.search(REFUSED_WORDS, t, re.IGNORECASE)), None)
        yield make_finding(
            INFERRED_STRONG if refused else INFERRED_WEAK,
            f"{where(run, ex)} sent the key in the {sent_in} and the server refused it with "
            f"{status_text(ex)}{server_said}.",
            "Check the key in the provider's console (revoked, expired, wrong environment or project) "
            "and configure a valid one.",
            run,
            ex,
        )
