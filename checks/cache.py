"""Stale caches: a cached 401 (browser, service worker, shared cache) replayed after a good login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

from loginprobe.checks.common import (
    ablations_of,
    auth_path,
    before,
    cache_directives,
    effective_status,
    failing_runs,
    fmt_duration,
    fmt_time,
    make_finding,
    protected_exchange,
    source_run,
    status_text,
    supplied_credential,
    vary_fields,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import CACHE_PROBE, Exchange, RunEvidence, SiteEvidence, same_resource
from loginprobe.verdict import DIRECT, HYGIENE, STATED, Finding

# Response headers shared caches and CDNs add on a hit (Varnish, Squid, Fastly, CloudFront, Cloudflare,
# Akamai, nginx `add_header X-Cache-Status $upstream_cache_status`).
HIT_HEADERS = ("x-cache", "x-cache-status", "cf-cache-status", "x-proxy-cache", "x-cache-lookup", "cdn-cache")
HIT_VALUE = re.compile(r"\bHIT\b|\bSTALE\b|\bREVALIDATED\b|\bUPDATING\b", re.IGNORECASE)
# Date has one-second resolution and responses take a moment: more than this is a replay.
REPLAY_LAG_S = 5.0
SERVED_FROM = {
    "disk-cache": "the browser's disk cache",
    "memory-cache": "the browser's memory cache",
    "service-worker": "a service worker",
    "prefetch-cache": "the prefetch cache",
}


def _cache_headers(ex: Exchange) -> str:
    """The headers that decided caching, as they came ("Cache-Control max-age=3600, no Vary: Cookie")."""
    parts = []
    control = ex.header("cache-control")
    parts.append(f"Cache-Control {control}" if control else "no Cache-Control")
    age = ex.header("age")
    if age is not None:
        parts.insert(0, f"Age {age}")
    if ex.status is not None and 300 <= ex.status < 400:
        return ", ".join(parts)  # a redirect's Vary does not matter: it sends everyone the same way
    vary = vary_fields(ex.response_headers)
    missing = [name for name in ("Cookie", "Authorization") if name.lower() not in vary and "*" not in vary]
    if missing:
        parts.append("no Vary: " + "/".join(missing))
    else:
        parts.append(f"Vary: {ex.header('vary')}")
    return ", ".join(parts)


def _date_regression(run: RunEvidence, ex: Exchange) -> str | None:
    """A response older than its request: its Date predates the server's clock at request time.

    Servers stamp Date when they generate a response (RFC 9110 §6.6.1); a replayed cached response keeps
    the Date of when it was stored. This catches cache hits that an engine does not flag (Firefox's
    timing heuristic can miss them). The server's clock is read from its other, network-served
    responses of the run, so a server whose clock is off does not look like a cache.
    """
    if ex.server_date is None:
        return None
    peers = [
        item
        for item in run.exchanges
        if item.id != ex.id
        and item.server_date is not None
        and item.origin == ex.origin
        and not item.from_cache
    ]
    if ex.started_at is not None:
        offsets = sorted(
            (item.server_date - item.started_at).total_seconds()
            for item in peers
            if item.started_at is not None and item.server_date is not None
        )
        if offsets:
            offset = offsets[len(offsets) // 2]
            lag = (ex.started_at - ex.server_date).total_seconds() + offset
            if lag > REPLAY_LAG_S:
                return (
                    f"its Date ({fmt_time(ex.server_date)}) is {fmt_duration(lag)} older than the server's "
                    f"clock when it was requested"
                )
            return None
    earlier = [item.server_date for item in peers if item.id < ex.id and item.server_date is not None]
    newest = max(earlier, default=None)
    if newest is not None and (newest - ex.server_date).total_seconds() > REPLAY_LAG_S:
        lag = (newest - ex.server_date).total_seconds()
        return (
            f"its Date ({fmt_time(ex.server_date)}) is {fmt_duration(lag)} older than an earlier response "
            f"of the same server ({fmt_time(newest)})"
        )
    return None


def _shared_cache_hit(ex: Exchange) -> str | None:
    for name in HIT_HEADERS:
        value = ex.header(name)
        if value and HIT_VALUE.search(value):
            return f"{name} {value}"
    varnish = ex.header("x-varnish")
    if varnish and len(varnish.split()) >= 2:  # Varnish names the request and the stored object on a hit
        return f"X-Varnish {varnish}"
    age = ex.header("age")
    if age is not None and age.strip().isdigit() and int(age) > 0:
        via = ex.header("via")
        return f"Age {age}" + (f", Via {via}" if via else "")
    return None


def _cached_entries(run: RunEvidence, ex: Exchange) -> str | None:
    for snapshot in (run.before, run.after):
        for entry in snapshot.cache_storage:
            if same_resource(entry.url, ex.url) and entry.status in (401, 403):
                return f'the Cache API cache "{entry.cache_name}" held a {entry.status} for {entry.url}'
    return None


def _served_from(ex: Exchange) -> tuple[float, str]:
    """How sure the engine's cache flag is, and the words for it.

    Chromium's DevTools protocol states where a response came from. Firefox's signal is a timing
    heuristic (no network timing, no header bytes): it tells "not from the network" but cannot tell the
    HTTP cache from a service worker, so it is worded as such and weighs as one inference.
    """
    signal = ex.served_from_signal
    if signal.lower().startswith("firefox"):
        return 0.85, f"came from inside the browser, not the network (HTTP cache or service worker; {signal})"
    how = " (as Chromium's DevTools protocol reported)" if signal.lower().startswith("chromium cdp") else ""
    if signal and not how:
        how = f" ({signal})"
    return 0.95, f"came from {SERVED_FROM.get(ex.served_from, ex.served_from)}{how}"


def _fix(run: RunEvidence, hop: Exchange, signals: list[str]) -> str:
    """The next step for the kind of cache that replayed `hop`."""
    if hop.status is not None and 300 <= hop.status < 400:
        return (
            f"Clear this browser's cached responses for {hop.origin} (DevTools > Application > Clear site "
            f"data); make the server stop sending the permanent redirect of {hop.url}, or give it an expiry "
            "(`Cache-Control: max-age=...`) or use 302/307 while hosts can still change."
        )
    text = " ".join(signals)
    if "shared-cache hit" in text:
        return (
            f"Purge {hop.url} from the shared cache (CDN or reverse proxy) and make the server send "
            "`Cache-Control: no-store` (or `private`) on 401s and signed-in pages, or make the cache key "
            "include Cookie and Authorization."
        )
    if "Cache API" in text or hop.served_from == "service-worker" or run.before.service_workers:
        return (
            f"Make the service worker of {hop.origin} never store 401/403 responses (check `response.ok` "
            "before `cache.put`), ship it with a new cache name, and clear its caches (DevTools > "
            "Application > Clear site data)."
        )
    return (
        f"Clear this browser's cache for {hop.origin} and make the server send `Cache-Control: no-store` "
        "(or `private` plus `Vary: Cookie, Authorization`) on 401s and signed-in pages."
    )


def cache_evidence(run: RunEvidence, ex: Exchange) -> tuple[float, list[str]]:
    """How strongly this response looks replayed from a cache, and the signals that say so."""
    signals: list[tuple[float, str]] = []
    if ex.from_cache:
        signals.append(_served_from(ex))
    hit = _shared_cache_hit(ex)
    if hit:
        signals.append((0.9, f"was a shared-cache hit ({hit})"))
    stored = _cached_entries(run, ex)
    if stored:
        signals.append((0.9 if ex.served_from in ("service-worker", "unknown") else 0.7, stored))
    regression = _date_regression(run, ex)
    if regression:
        signals.append((0.85, f"was replayed: {regression}"))
    if not signals:
        return 0.0, []
    return max(conf for conf, _ in signals), [text for _, text in signals]


def _network_agrees(ev: SiteEvidence, run: RunEvidence, hop: Exchange) -> bool:
    """Another run got the same answer for the same request straight from the server: not stale."""
    for other in ev.runs:
        if other.run_id == run.run_id:
            continue
        for item in other.exchanges:
            if item.method != hop.method or item.url != hop.url or item.status != hop.status:
                continue
            if item.header("location") != hop.header("location") or cache_evidence(other, item)[1]:
                continue
            return True
    return False


@check(cause="stale-cache")
def stale_cache(ev: SiteEvidence) -> Iterator[Finding]:
    """The failing protected response, or a redirect on the way to it, was replayed from a cache."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None or ex.status is None:
            continue
        for hop in run.redirect_chain(ex.id):
            confidence, signals = cache_evidence(run, hop)
            if signals and hop.status is not None and not _network_agrees(ev, run, hop):
                break
        else:
            continue
        ablation = ablations_of(ev, run).get("no-cache")
        confirmed = ""
        if ablation is not None and ablation.outcome.success:
            confidence = min(1.0, confidence + 0.04)
            confirmed = f"; the same profile without its cache ({ablation.label}) signed in"
        location = hop.header("location")
        led = (
            f" and sent the browser to {location}, where {where(run, ex)} got {status_text(ex)}"
            if hop.id != ex.id and location
            else ""
        )
        yield make_finding(
            confidence,
            f"The {status_text(hop)} for {where(run, hop)} {' and '.join(signals)} "
            f"({_cache_headers(hop)}){led}{confirmed}.",
            _fix(run, hop, signals),
            run,
            hop,
        )


@check(cause="stale-cache")
def uncached_url_accepts(ev: SiteEvidence) -> Iterator[Finding]:
    """The refused credential was accepted at the same URL under a query parameter no cache had stored."""
    if any(
        ex.resource_type != CACHE_PROBE
        and ex.status is not None
        and 200 <= ex.status < 300
        and not ex.from_cache
        and same_resource(ex.url, run.expectations.protected_url)
        for run in ev.runs
        for ex in run.exchanges
    ):
        return  # the server itself accepted it at that URL in some run: flapping, not a stored 401
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None or effective_status(ex) != 401:
            continue
        # The probe's requests, in order: the protected URL itself, then under an unstored query.
        probes = [p for p in run.exchanges if p.resource_type == CACHE_PROBE]
        if len(probes) < 2 or probes[0].status != 401:
            continue  # a URL that accepts the credential itself (a flapping cluster) is no stored 401
        probe = probes[1]
        if probe.status is None or not 200 <= probe.status < 300:
            continue
        yield make_finding(
            DIRECT,
            f"{where(run, ex)} got {status_text(ex)} (and so did loginprobe's own request for it), "
            f"yet the same credential at {probe.url} (the same URL under a query parameter no cache had "
            f"stored) got {probe.status} from the server: a cache in front of the site, keyed on the URL "
            f"and not on the credential, keeps replaying a {ex.status} it stored earlier "
            f"({_cache_headers(ex)}).",
            f"Purge {ex.url} from the shared cache (reverse proxy or CDN) and stop it storing 401s, or key "
            "it on Authorization and Cookie (nginx: no 401 in `proxy_cache_valid`, or `proxy_no_cache "
            "$http_authorization`; Varnish: `return (pass)` for requests with Authorization); make the "
            "server send `Cache-Control: no-store` on 401s.",
            run,
            ex,
        )


@check(cause="stale-cache")
def no_cache_ablation_fixes(ev: SiteEvidence) -> Iterator[Finding]:
    """The returning profile failed, and the same profile without its caches signed in."""
    for ablated in ev.runs:
        if ablated.ablation != "no-cache" or not ablated.outcome.success:
            continue
        source = source_run(ev, ablated)
        if source is None or source.outcome.success:
            continue
        ex = protected_exchange(source)
        direct = ex is not None and bool(cache_evidence(source, ex)[1])
        workers = ", ".join(sw.scope for sw in source.before.service_workers)
        held = f"; its profile had service workers for {workers}" if workers else ""
        yield make_finding(
            0.95 if direct else 0.7,
            f"{source.label} failed ({source.outcome.reason}) while {ablated.label}, the same profile "
            "with its "
            f"HTTP cache, service workers and Cache API removed, signed in{held}.",
            "Clear this origin's browser cache and service worker (DevTools > Application > Clear site data) "
            "and fix the server's Cache-Control on 401 and authenticated responses.",
            source,
            ex,
        )


def _cacheable(ex: Exchange) -> str | None:
    """Why a 401/403 may be stored by a cache, or None (RFC 9111 §3: explicit freshness is needed)."""
    directives = cache_directives(ex.response_headers)
    if "no-store" in directives:
        return None
    reasons = []
    for name in ("max-age", "s-maxage"):
        value = directives.get(name, "")
        if value.isdigit() and int(value) > 0:
            reasons.append(f"{name}={value}")
    expires = ex.header("expires")
    if expires and ex.server_date is not None:
        try:
            if parsedate_to_datetime(expires) > ex.server_date:
                reasons.append(f"Expires {expires}")
        except (TypeError, ValueError):
            pass  # an unparsable Expires means "already expired" (RFC 9111 §5.3)
    if "public" in directives and reasons:
        reasons.insert(0, "public")
    return ", ".join(reasons) or None


@check(cause="stale-cache")
def cacheable_unauthorized(ev: SiteEvidence) -> Iterator[Finding]:
    """A 401/403 carried explicit freshness: a cache may replay it to a visitor who signed in since."""
    seen: set[str] = set()
    for run in ev.runs:
        for ex in auth_path(run):
            if ex.status not in (401, 403) or ex.from_cache:
                continue
            why = _cacheable(ex)
            if why is None:
                continue
            key = ex.url.split("?")[0]
            if key in seen:
                continue
            seen.add(key)
            vary = vary_fields(ex.response_headers)
            missing = [n for n in ("Cookie", "Authorization") if n.lower() not in vary and "*" not in vary]
            missing_text = f" and no Vary: {'/'.join(missing)}" if missing else ""
            yield make_finding(
                HYGIENE,
                f"The {ex.status} for {where(run, ex)} is cacheable ({why}){missing_text}: a browser or "
                f"shared cache may replay it after the user signs in.",
                "Send `Cache-Control: no-store` on 401/403 responses (or at least `private` and `Vary: "
                "Cookie, Authorization`).",
                run,
                ex,
            )


def _origin_forbids(ex: Exchange) -> str | None:
    """The origin's own words against shared caching (`no-store`, `private`), kept on a replayed copy."""
    directives = cache_directives(ex.response_headers)
    found = [name for name in ("no-store", "private", "no-cache") if name in directives]
    return ", ".join(found) or None


@check(cause="stale-cache")
def cached_credential_document(ev: SiteEvidence) -> Iterator[Finding]:
    """The credential the refused request sent came from a document that a cache replayed."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None or effective_status(ex) not in (401, 403):
            continue
        for doc in reversed(before(run, ex)):
            if doc.status is None or not 200 <= doc.status < 300 or same_resource(doc.url, ex.url):
                continue
            confidence, signals = cache_evidence(run, doc)
            carried = supplied_credential(run, doc, ex)
            if not signals or carried is None:
                continue
            forbids = _origin_forbids(doc)
            shared = _shared_cache_hit(doc)
            if shared and forbids:
                # The strongest sign there is: the origin said not to store it, and a copy came anyway.
                confidence = max(confidence, STATED)
                signals.append(f"although the origin marked it `{forbids}`")
            no_cache = ablations_of(ev, run).get("no-cache")
            confirmed = ""
            if no_cache is not None and no_cache.outcome.success:
                confidence = min(1.0, confidence + 0.04)
                confirmed = f"; the same profile without its cache ({no_cache.label}) signed in"
            where_kept = "the shared cache" if shared else "the browser's cache"
            yield make_finding(
                confidence,
                f"{where(run, ex)} got {status_text(ex)} with a credential ({carried}) that the page read "
                f"from {where(run, doc)}, whose {doc.status} {' and '.join(signals)} "
                f"({_cache_headers(doc)}){confirmed}.",
                f"Purge {doc.url} from {where_kept} and stop caching documents that hold tokens or keys: "
                "`Cache-Control: no-store` on them"
                + (", and a shared-cache rule that passes them (or keys on the session)" if shared else "")
                + "; clear this site's data in the returning browser.",
                run,
                doc,
            )
            break
