"""The wrong URL: a redirect to another origin or scheme that lost the credentials, or a bad host."""

from __future__ import annotations

import re
from collections.abc import Iterator

from loginprobe.checks.cache import cache_evidence
from loginprobe.checks.common import (
    accepted_elsewhere,
    accepted_in_own_realm,
    auth_path,
    authorization_request,
    credential_sent,
    failing_runs,
    is_rejection,
    make_finding,
    named_realm,
    protected_exchange,
    status_text,
    where,
)
from loginprobe.checks.redirects import REDIRECT_LOOP
from loginprobe.checks.registry import check
from loginprobe.evidence import Exchange, SiteEvidence, origin_of
from loginprobe.verdict import DIRECT, HEURISTIC, INFERRED, Finding

# Name-resolution failures as Chromium, Firefox and WebKit word them.
UNRESOLVED = (
    "ERR_NAME_NOT_RESOLVED",
    "NS_ERROR_UNKNOWN_HOST",
    "Could not resolve host",
    "ERR_NAME_RESOLUTION_FAILED",
)


@check(cause="wrong-url")
def wrong_url(ev: SiteEvidence) -> Iterator[Finding]:
    """A redirect took the protected request to another origin or scheme, without its credentials."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None:
            continue
        expected = origin_of(run.expectations.protected_url)
        if ex.origin == expected:
            continue
        chain = run.redirect_chain(ex.id)
        hop_index = next((i for i in range(1, len(chain)) if chain[i].origin != chain[i - 1].origin), None)
        if hop_index is None:
            continue
        before_hop, after_hop = chain[hop_index - 1], chain[hop_index]
        if authorization_request(after_hop.url):
            continue  # the site sent the browser to its identity provider: by design, not a wrong URL
        carried = credential_sent(run, before_hop)
        kept = credential_sent(run, after_hop)
        downgrade = before_hop.url.startswith("https:") and after_hop.url.startswith("http:")
        lost = (
            f"; {before_hop.origin} got {carried}, {after_hop.origin} got {kept or 'none'}" if carried else ""
        )
        via = before_hop.header("location") or after_hop.url
        unreachable = _unreachable(after_hop)
        # A redirect replayed from the browser's cache is stale_cache's finding; this one then only adds
        # where the credentials stayed behind.
        cached = before_hop.from_cache or bool(cache_evidence(run, before_hop)[1])
        confidence = HEURISTIC if cached else DIRECT if carried and not kept else INFERRED
        yield make_finding(
            confidence,
            f"{before_hop.method} {before_hop.url} redirected ({before_hop.status}"
            f"{', from the cache' if cached else ''}, Location {via}) to "
            f"{after_hop.origin}{' (https to http)' if downgrade else ''}, another origin than the "
            "configured "
            f"{expected}{lost}; "
            + (
                f"nothing answered {where(run, after_hop)} ({unreachable})."
                if unreachable
                else f"{where(run, ex)} got {status_text(ex)}."
            ),
            f"Nothing answers at {after_hop.origin}: make the server listen there (for https, a TLS "
            "listener with a certificate on that port) or point the redirect at the address that serves "
            "the site; until then no browser can follow it."
            if unreachable
            else f"Use the canonical URL the site redirects to ({after_hop.origin}) in the configuration, or "
            "make the site stop redirecting between hosts/schemes (cookies and Authorization are per "
            "origin).",
            run,
            ex,
        )


# How engines word a TLS handshake with a port that speaks plain HTTP (or nothing TLS can read).
NOT_TLS = re.compile(r"SSL|TLS|RECORD_TOO_LONG", re.IGNORECASE)


def _unreachable(hop: Exchange) -> str | None:
    """Why a redirect's target gave no response (the engine's error, with what it means), or None."""
    if hop.status is not None or not hop.failure or REDIRECT_LOOP.search(hop.failure):
        return None
    if hop.url.startswith("https:") and NOT_TLS.search(hop.failure):
        return f"{hop.failure}: the port does not speak TLS"
    if "CONNECTION_REFUSED" in hop.failure.upper():
        return f"{hop.failure}: nothing listens on that port"
    return hop.failure


@check(cause="wrong-url")
def unresolvable_host(ev: SiteEvidence) -> Iterator[Finding]:
    """A host of the login does not resolve (a typo or a missing DNS entry)."""
    seen: set[str] = set()
    for run in failing_runs(ev):
        for ex in auth_path(run):
            if not ex.failure or not any(code in ex.failure for code in UNRESOLVED) or ex.origin in seen:
                continue
            seen.add(ex.origin)
            yield make_finding(
                DIRECT,
                f"The host of {ex.url} does not resolve ({ex.failure}) in {run.label}.",
                "Check the URL for typos and that this host has a DNS entry reachable from here (VPN, "
                "/etc/hosts).",
                run,
                ex,
            )


@check(cause="wrong-url")
def wrong_realm(ev: SiteEvidence) -> Iterator[Finding]:
    """The URL's realm refused the HTTP credentials that another path of the same origin accepts."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        found = accepted_elsewhere(run)
        if ex is None or found is None or not is_rejection(ex):
            continue
        if accepted_in_own_realm(run, ex) is not None:
            continue  # the same realm accepts them elsewhere: a permission, not a URL (permissions.py)
        url, other, answer = found
        sent = credential_sent(run, ex) or "the configured credentials"
        here = named_realm(ex)
        here_realm = f'the realm "{here.realm}"' if here is not None else "an area without a named realm"
        there = (
            f'realm "{other.realm}"' if other is not None and other.realm is not None else "no named realm"
        )
        scheme = answer.authorization.scheme if answer.authorization is not None else "the same"
        yield make_finding(
            DIRECT,
            f"{where(run, ex)} is in {here_realm}, which refused {sent} ({status_text(ex)}); the same "
            f"username and password were accepted at {url} ({there}, {scheme} answered {answer.status}): "
            "the configured URL points into another realm than the one these credentials belong to.",
            f"Check the URL for a typo: these credentials work at {url}. If {ex.url} is the right URL, "
            f"ask for access to {here_realm}.",
            run,
            ex,
        )
