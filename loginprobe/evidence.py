"""The evidence record: what one browser x mode run saw, typed, immutable and loadable from disk.

Flows and the recorder produce it, checks read it, reports render it. Nothing here holds a secret in
clear: credential, cookie, token and storage values are replaced by fingerprints (see
`loginprobe.secrets`) before a model is built.

Headers stay a list of (name, value) pairs: a flat dict would collapse repeated `Set-Cookie`, `Vary`
and `WWW-Authenticate`, which are exactly what a 401 diagnosis reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Literal, TypeGuard
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"

Engine = Literal["chromium", "firefox", "webkit"]
ENGINES: tuple[Engine, ...] = ("chromium", "firefox", "webkit")
Mode = Literal["fresh", "persisted", "state"]
MODES: tuple[Mode, ...] = ("fresh", "persisted", "state")
FlowKind = Literal["form", "basic", "digest", "bearer", "api-key", "oidc", "script", "visit"]
FLOW_KINDS: tuple[FlowKind, ...] = ("form", "basic", "digest", "bearer", "api-key", "oidc", "script", "visit")
# A differential re-run of a returning visit: one piece of the returning browser's state removed or
# transplanted, or ("relogin") the same profile signing in again.
Ablation = Literal["no-cache", "no-cookies", "only-cookies", "only-storage", "relogin"]
# Where a response came from, as far as the engine lets us see.
ServedFrom = Literal["network", "disk-cache", "memory-cache", "service-worker", "prefetch-cache", "unknown"]

Header = tuple[str, str]
# `Exchange.resource_type` of a request loginprobe itself made after a refusal of HTTP credentials:
# the same credentials at the origin's root and parent paths (flows/realm.py), not a page's request.
REALM_PROBE = "realm-probe"
# ... and of the cache probe after any refused credential (flows/realm.py): the same credential at the
# protected URL, then (refused again) at that URL under a query parameter no cache has stored.
CACHE_PROBE = "cache-probe"


class Model(BaseModel):
    """Frozen, strict base: evidence is a record of the past, never edited."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def is_engine(name: str) -> TypeGuard[Engine]:
    """Whether a browser name (Playwright's `BrowserType.name`) is one of loginprobe's engines."""
    return name in ENGINES


def header_values(headers: list[Header], name: str) -> list[str]:
    """Every value of a header, in order, matched case-insensitively (repeats kept)."""
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def header_value(headers: list[Header], name: str) -> str | None:
    """The first value of a header, or None."""
    values = header_values(headers, name)
    return values[0] if values else None


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def same_resource(url: str, target: str) -> bool:
    """Same origin and path; the query only counts when the target names one (an app adds its own
    parameters to an API URL, a configured `?id=2` must match)."""
    a, b = urlsplit(url), urlsplit(target)
    if (a.scheme, a.netloc, a.path or "/") != (b.scheme, b.netloc, b.path or "/"):
        return False
    return not b.query or a.query == b.query


class Challenge(Model):
    """One challenge of a `WWW-Authenticate` (or `Proxy-Authenticate`) header (RFC 9110 §11.6.1)."""

    scheme: str
    params: dict[str, str] = Field(default_factory=dict)
    token68: str | None = None

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def error(self) -> str | None:
        return self.params.get("error")

    @property
    def error_description(self) -> str | None:
        return self.params.get("error_description")

    @property
    def scope(self) -> str | None:
        return self.params.get("scope")


class AuthorizationSent(Model):
    """What an `Authorization` header carried: its scheme and whose credential, never the credential."""

    scheme: str
    identity: str | None = None  # Basic/Digest username, a JWT's `sub`, or None
    fingerprint: str  # stable fingerprint of the credential part


class CookieRecord(Model):
    """A cookie in the browser's jar (value fingerprinted)."""

    name: str
    value_fingerprint: str
    domain: str
    path: str
    expires: float | None = None  # epoch seconds; None for a session cookie
    http_only: bool = False
    secure: bool = False
    same_site: str | None = None

    def key(self) -> tuple[str, str, str]:
        return (self.name, self.domain, self.path)


class SetCookie(Model):
    """A `Set-Cookie` header a response carried, parsed, and what the browser did with it."""

    name: str
    value_fingerprint: str
    attributes: dict[str, str] = Field(default_factory=dict)  # lower-cased names; flags map to ""
    stored: bool | None = None  # None when the engine does not tell
    blocked_reasons: list[str] = Field(default_factory=list)
    # Bytes of name and value as sent (browsers keep at most 4096, RFC 6265bis §5.6); None: not measured.
    size: int | None = None


class CookieNotSent(Model):
    """A cookie in the jar that the browser withheld from a request, with the engine's reason."""

    name: str
    domain: str | None = None
    path: str | None = None
    reasons: list[str] = Field(default_factory=list)


class Exchange(Model):
    """One request and its response (or failure), in the order the browser issued them."""

    id: int
    method: str
    url: str
    resource_type: str = "other"
    is_navigation: bool = False
    frame_url: str | None = None
    page: int = 0  # index of the page (tab/popup) in the context
    request_headers: list[Header] = Field(default_factory=list)
    status: int | None = None
    status_text: str = ""
    response_headers: list[Header] = Field(default_factory=list)
    served_from: ServedFrom = "unknown"
    served_from_signal: str = ""  # which engine signal decided served_from
    redirected_from: int | None = None  # id of the exchange whose redirect led here
    started_at: datetime | None = None
    duration_ms: float | None = None
    failure: str | None = None  # e.g. net::ERR_INVALID_AUTH_CREDENTIALS
    authorization: AuthorizationSent | None = None
    challenges: list[Challenge] = Field(default_factory=list)
    proxy_challenges: list[Challenge] = Field(default_factory=list)
    cookies_sent: list[str] = Field(default_factory=list)  # names, in header order (repeats kept)
    cookies_not_sent: list[CookieNotSent] = Field(default_factory=list)
    set_cookies: list[SetCookie] = Field(default_factory=list)
    server_date: datetime | None = None
    body_excerpt: str | None = None  # redacted, short; only for small textual error/token bodies

    @property
    def origin(self) -> str:
        return origin_of(self.url)

    def header(self, name: str) -> str | None:
        """First response header value by name."""
        return header_value(self.response_headers, name)

    def request_header(self, name: str) -> str | None:
        return header_value(self.request_headers, name)

    @property
    def from_cache(self) -> bool:
        return self.served_from in ("disk-cache", "memory-cache", "service-worker", "prefetch-cache")

    @property
    def sent_by_loginprobe(self) -> bool:
        """Whether loginprobe itself sent this request after a refusal (a realm or cache probe), not the
        browser: what it carried says nothing about what the engine sends."""
        return self.resource_type in (REALM_PROBE, CACHE_PROBE)


class StorageArea(Model):
    """localStorage and sessionStorage of one origin: keys with fingerprinted values."""

    origin: str
    local: dict[str, str] = Field(default_factory=dict)
    session: dict[str, str] = Field(default_factory=dict)


class ServiceWorkerRecord(Model):
    scope: str
    script_url: str
    state: str | None = None


class CacheStorageEntry(Model):
    """One entry of the Cache API (a service worker's cache)."""

    cache_name: str
    url: str
    status: int | None = None
    headers: list[Header] = Field(default_factory=list)


class StateSnapshot(Model):
    """Cookies, storage, service workers and Cache API contents at one moment of a run."""

    taken: Literal["before", "after"]
    cookies: list[CookieRecord] = Field(default_factory=list)
    storage: list[StorageArea] = Field(default_factory=list)
    service_workers: list[ServiceWorkerRecord] = Field(default_factory=list)
    cache_storage: list[CacheStorageEntry] = Field(default_factory=list)
    note: str = ""  # e.g. why service workers could not be read


class JwtRecord(Model):
    """A JWT found anywhere in the run, decoded without verification; the signature is dropped."""

    found_in: str  # e.g. "request header Authorization", "cookie id_token", "localStorage access_token"
    exchange_id: int | None = None
    fingerprint: str
    header: dict[str, object] = Field(default_factory=dict)
    claims: dict[str, object] = Field(default_factory=dict)
    expires_at: datetime | None = None
    not_before: datetime | None = None
    issued_at: datetime | None = None
    reference_time: datetime | None = None  # the server's Date when seen, else the local clock
    reference: Literal["server-date", "local-clock"] = "local-clock"
    seconds_to_expiry: float | None = None  # negative when already expired at reference_time


class Outcome(Model):
    """Did the login reach the protected resource, as decided by that resource."""

    success: bool
    status: int | None = None  # the protected resource's status, when one came back
    reason: str  # one sentence, concrete
    final_url: str | None = None
    protected_exchange: int | None = None


class Artifacts(Model):
    """Files of a run, relative to the report folder."""

    trace: str | None = None
    har: str | None = None
    screenshot: str | None = None  # the page as the run ended (failing runs)
    # The page right after the login was submitted: the form's own error message, before the
    # protected URL replaced it with a bare 401 page.
    screenshot_after_submit: str | None = None


class Expectations(Model):
    """What the user told loginprobe about the site, which checks may compare evidence against."""

    flow: FlowKind
    protected_url: str
    start_url: str
    audience: str | None = None
    issuer: str | None = None
    api_key_name: str | None = None
    api_key_location: Literal["header", "query"] | None = None
    credentials_configured: list[str] = Field(default_factory=list)  # e.g. ["username", "password"]
    proxy: str | None = None  # the proxy server of a proxied run (no credentials)


class RunEvidence(Model):
    """Everything one run (site x engine x mode [x ablation]) captured."""

    run_id: str
    site: str
    engine: Engine
    engine_version: str = ""
    launch: str = ""  # how the engine was launched
    mode: Mode
    ablation: Ablation | None = None
    via_proxy: bool = False
    started_at: datetime
    finished_at: datetime
    expectations: Expectations
    exchanges: list[Exchange] = Field(default_factory=list)
    before: StateSnapshot
    after: StateSnapshot
    jwts: list[JwtRecord] = Field(default_factory=list)
    console_errors: list[str] = Field(default_factory=list)
    page_errors: list[str] = Field(default_factory=list)
    outcome: Outcome
    artifacts: Artifacts = Field(default_factory=Artifacts)
    cache_signal: str = ""  # which engine signal served_from relies on, for the whole run
    engine_notes: list[str] = Field(default_factory=list)  # known engine behaviour that shaped this run
    # Authentication schemes this engine, launched this way, never answers (Firefox over WebDriver
    # BiDi never answers Digest): a challenge of such a scheme left unanswered is not the site's fault.
    unanswerable_schemes: list[str] = Field(default_factory=list)
    # Request headers the engine adds below what capture can see. Chromium answers HTTP Basic/Digest
    # challenges inside its network stack: neither the 401 it answered nor the Authorization it sent
    # reach DevTools, so a missing Authorization there is not evidence of none being sent.
    hidden_request_headers: list[str] = Field(default_factory=list)
    # Where each kind of evidence came from when it is not the Playwright recorder's usual source
    # (WebKitGTK over WebDriver: kind -> source), and the kinds this engine cannot show at all
    # ("cookies_sent", "set_cookies", "cookies_not_sent", "challenge_headers"): an empty list there is
    # "not observable", never "none happened".
    evidence_sources: dict[str, str] = Field(default_factory=dict)
    not_observable: list[str] = Field(default_factory=list)
    # A returning visit: the browser opened the site with its stored state and signed in only if the
    # site asked (see flows/visit.py). `login_trigger` says what asked, when the login ran.
    returning_visit: bool = False
    login_ran: bool = True
    login_trigger: str | None = None

    def exchange(self, exchange_id: int | None) -> Exchange | None:
        if exchange_id is None:
            return None
        for item in self.exchanges:
            if item.id == exchange_id:
                return item
        return None

    @property
    def protected(self) -> Exchange | None:
        """The exchange that decided the outcome."""
        return self.exchange(self.outcome.protected_exchange)

    def redirect_chain(self, exchange_id: int) -> list[Exchange]:
        """The exchanges that led to `exchange_id` by redirects, first hop first, itself last."""
        chain: list[Exchange] = []
        current = self.exchange(exchange_id)
        while current is not None and len(chain) < 50:
            chain.append(current)
            current = self.exchange(current.redirected_from)
        return list(reversed(chain))

    def unauthorized(self) -> Iterator[Exchange]:
        """Every 401, 403 and 407 response of the run."""
        return (ex for ex in self.exchanges if ex.status in (401, 403, 407))

    @property
    def label(self) -> str:
        parts: list[str] = [self.engine, self.mode]
        if self.ablation:
            parts.append(self.ablation)
        if self.via_proxy:
            parts.append("via-proxy")
        return "/".join(parts)


class SiteEvidence(Model):
    """All runs of one site: what a check reads."""

    site: str
    runs: list[RunEvidence]

    def baseline(self, engine: Engine) -> list[RunEvidence]:
        """The plain (not ablated, not proxied) runs of an engine."""
        return [r for r in self.runs if r.engine == engine and r.ablation is None and not r.via_proxy]

    @property
    def plain_runs(self) -> list[RunEvidence]:
        return [r for r in self.runs if r.ablation is None and not r.via_proxy]

    def run(self, engine: Engine, mode: Mode, ablation: Ablation | None = None) -> RunEvidence | None:
        for r in self.runs:
            if r.engine == engine and r.mode == mode and r.ablation == ablation and not r.via_proxy:
                return r
        return None


class EngineStatus(Model):
    """One row of `loginprobe browsers`: is this engine here, and how is it launched."""

    engine: Engine
    available: bool
    version: str | None = None
    launch: str | None = None  # "playwright-managed", "system executable", "system executable (BiDi channel)"
    executable: str | None = None
    reason: str | None = None  # why unavailable
    install_hint: str | None = None


class SkippedRun(Model):
    """A run that could not happen, and why (never a pretend result)."""

    site: str
    engine: Engine
    mode: Mode
    reason: str
