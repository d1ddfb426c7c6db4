"""Realm probes: when the configured Basic/Digest credentials were refused at the protected URL, try
the same credentials at the origin's root and the URL's parent paths, so a check can tell a URL that
landed in another HTTP authentication realm (a typo) from a wrong password.

A handful of requests, made only after a refusal. They go through Python's own HTTP client
(`urllib.request`, whose Basic and Digest handlers are the standard library's) rather than the run's
browser context: Playwright's request API answers Basic only, and Chromium hides the challenge it
answers, so neither shows the realm of an area that accepts the credentials (HTTP authentication
realms do not depend on the context's cookies). The probes are returned as exchanges marked
`REALM_PROBE` (two per path: the anonymous request that shows the realm, then the one with the
credentials); flows never decide what they mean.

After any refusal of a credential the flow sends by itself (Basic, Digest, a bearer token or API key in
a header), one more request goes to the protected URL with a query parameter no cache has stored and
the same credential (`CACHE_PROBE`): a shared cache that keys on the URL alone and keeps 401s (nginx
`proxy_cache_valid 401`, a Varnish `beresp.ttl`) cannot answer it, and often says nothing on the 401 it
replays (no Age, no X-Cache, a fresh Date).
"""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import Message
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from loginprobe.config.settings import Site
from loginprobe.evidence import CACHE_PROBE, REALM_PROBE, AuthorizationSent, Exchange, same_resource
from loginprobe.parsing import parse_challenge_headers
from loginprobe.secrets import Redactor

# At most this many other paths are tried: each try with credentials is one more login attempt the
# server may count (lockouts), and a typo is nearly always one or two path segments away.
MAX_PATHS = 4
PROBE_TIMEOUT_S = 10.0
REALM_FLOWS = ("basic", "digest")
# The cache probe's parameter: named so a server's log says who sent it.
CACHE_PROBE_PARAM = "loginprobe-nocache"


def _refused(site: Site, exchanges: Sequence[Exchange]) -> bool:
    """The protected URL's last answer refused the credentials (401, or Chromium's net error for it)."""
    target = [ex for ex in exchanges if same_resource(ex.url, site.target)]
    if not target:
        return False
    last = target[-1]
    return last.status == 401 or bool(last.failure and "ERR_INVALID_AUTH_CREDENTIALS" in last.failure)


def candidate_urls(target: str) -> list[str]:
    """The parent paths of `target`, nearest first, then the origin's root (at most MAX_PATHS)."""
    parts = urlsplit(target)
    segments = [s for s in parts.path.split("/") if s]
    if parts.path.endswith("/") and segments:
        segments = segments[:-1]  # "/admin/area/" -> its parent is "/admin/"
    elif segments:
        segments = segments[:-1]
    paths = []
    while segments:
        paths.append("/" + "/".join(segments) + "/")
        segments = segments[:-1]
    paths.append("/")
    own = parts.path or "/"
    urls = [urlunsplit((parts.scheme, parts.netloc, p, "", "")) for p in paths if p != own]
    return list(dict.fromkeys(urls))[:MAX_PATHS]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer here (the area sends the user to a login page), never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _SentAuthorization(urllib.request.BaseHandler):
    """Remembers the Authorization the auth handlers added to the retried request."""

    handler_order = 1000  # after every other pre-processor

    def __init__(self) -> None:
        self.sent: str | None = None

    def http_request(self, req: urllib.request.Request) -> urllib.request.Request:
        self.sent = req.get_header("Authorization") or self.sent
        return req

    https_request = http_request


def _get(
    url: str,
    username: str | None,
    password: str | None,
    timeout: float,
    headers: dict[str, str] | None = None,
) -> tuple[int | None, Message | None, str | None, str | None]:
    """(status, headers, failure, Authorization sent) of one GET, with credentials when given."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({}), _NoRedirect()]
    seen = _SentAuthorization()
    if username is not None:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, url, username, password or "")
        handlers += [
            urllib.request.HTTPBasicAuthHandler(passwords),
            urllib.request.HTTPDigestAuthHandler(passwords),
            seen,
        ]
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, None, seen.sent or request.get_header("Authorization")
    except urllib.error.HTTPError as answer:  # 4xx/5xx and unfollowed redirects are answers
        answer.close()
        return answer.code, answer.headers, None, seen.sent or request.get_header("Authorization")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # Unreachable or refused: the probe records the failure; the run's own evidence is untouched.
        return None, None, f"{type(exc).__name__}: {exc}"[:200], seen.sent


def _exchange(
    index: int,
    url: str,
    status: int | None,
    headers: Message | None,
    failure: str | None,
    authorization: AuthorizationSent | None,
    redactor: Redactor,
    started: datetime,
    kind: str = REALM_PROBE,
    sent: list[tuple[str, str]] | None = None,
) -> Exchange:
    response_headers = [(k, redactor.text(v)) for k, v in headers.items()] if headers is not None else []
    if sent is None:
        sent = (
            [("Authorization", f"{authorization.scheme} {authorization.fingerprint}")]
            if authorization
            else []
        )
    return Exchange(
        id=index,
        method="GET",
        url=redactor.text(url),
        resource_type=kind,
        request_headers=sent,
        status=status,
        response_headers=response_headers,
        served_from="network",
        served_from_signal=f"{kind.replace('-', ' ')} (Python's HTTP client, not the browser)",
        started_at=started,
        failure=failure,
        authorization=authorization,
        challenges=parse_challenge_headers(headers.get_all("WWW-Authenticate") or [] if headers else []),
    )


def probe_realms(
    site: Site, exchanges: Sequence[Exchange], redactor: Redactor, timeout_s: float = PROBE_TIMEOUT_S
) -> list[Exchange]:
    """Exchanges of the realm probes (none unless Basic/Digest credentials were refused); the run's
    pages are left alone (a probe never navigates them)."""
    creds = site.credentials
    if site.flow not in REALM_FLOWS or creds.username is None or not _refused(site, exchanges):
        return []
    password = creds.password.get_secret_value() if creds.password else ""
    timeout = min(timeout_s, PROBE_TIMEOUT_S)
    index = max((ex.id for ex in exchanges), default=-1) + 1
    out: list[Exchange] = []
    for url in candidate_urls(site.target):
        started = datetime.now(UTC)
        status, headers, failure, _ = _get(url, None, None, timeout)
        out.append(_exchange(index, url, status, headers, failure, None, redactor, started))
        index += 1
        if status != 401:
            continue  # no challenge here: nothing to try the credentials on
        started = datetime.now(UTC)
        status, headers, failure, sent = _get(url, creds.username, password, timeout)
        scheme, _, credential = (sent or "").partition(" ")
        authorization = None
        if sent:
            if scheme.lower() == "basic":
                # The same fingerprint the browser's own Basic Authorization gets.
                credential = b64encode(f"{creds.username}:{password}".encode()).decode()
            authorization = AuthorizationSent(
                scheme=scheme, identity=creds.username, fingerprint=redactor.add(credential)
            )
        out.append(_exchange(index, url, status, headers, failure, authorization, redactor, started))
        index += 1
    return out


def cache_busting_url(target: str) -> str:
    """`target` with one more query parameter whose value no cache has seen."""
    parts = urlsplit(target)
    extra = f"{CACHE_PROBE_PARAM}={secrets.token_hex(6)}"
    return urlunsplit(
        (parts.scheme, parts.netloc, parts.path, f"{parts.query}&{extra}" if parts.query else extra, "")
    )


def probe_cache(
    site: Site, exchanges: Sequence[Exchange], redactor: Redactor, timeout_s: float = PROBE_TIMEOUT_S
) -> list[Exchange]:
    """The exchanges of the cache probe (none when nothing was refused or the flow's credential is not a
    header or HTTP authentication): the refused credential again, first at the protected URL itself (a
    cluster node that accepts it there is no cache, and the flapping shows), then, refused again, at the
    URL under a query no cache has stored."""
    if not _refused(site, exchanges):
        return []
    creds = site.credentials
    username: str | None = None
    password: str | None = None
    headers: dict[str, str] = {}
    sent: list[tuple[str, str]] | None = None
    authorization: AuthorizationSent | None = None
    if site.flow in REALM_FLOWS and creds.username is not None:
        password = creds.password.get_secret_value() if creds.password else ""
        basic = b64encode(f"{creds.username}:{password}".encode()).decode()
        if site.flow == "basic":
            # Sent up front: an anonymous first request would get a 401 that such a cache then keeps for
            # this URL too, and the retry with the credentials would be answered from it.
            headers["Authorization"] = f"Basic {basic}"
            authorization = AuthorizationSent(
                scheme="Basic", identity=creds.username, fingerprint=redactor.add(basic)
            )
        else:
            username = creds.username  # Digest needs the server's nonce: urllib's handler answers it
    else:
        secret = creds.token if site.flow == "bearer" else creds.api_key if site.flow == "api-key" else None
        if secret is None or site.token.location != "header":
            return []
        value = secret.get_secret_value()
        fingerprint = redactor.add(value)
        if site.flow == "bearer":
            name = site.token.name or "Authorization"
            prefix = f"{site.token.scheme} " if site.token.scheme else ""
        else:
            name, prefix = site.token.name or "X-API-Key", ""
        headers[name] = prefix + value
        sent = [(name, prefix + fingerprint)]
        if name.lower() == "authorization" and prefix:
            authorization = AuthorizationSent(scheme=prefix.strip(), identity=None, fingerprint=fingerprint)
    timeout = min(timeout_s, PROBE_TIMEOUT_S)
    index = max((ex.id for ex in exchanges), default=-1) + 1
    out: list[Exchange] = []
    for url in (site.target, cache_busting_url(site.target)):
        started = datetime.now(UTC)
        status, answer, failure, digest = _get(url, username, password, timeout, headers)
        held = authorization
        if username is not None and digest:
            scheme, _, credential = digest.partition(" ")
            held = AuthorizationSent(scheme=scheme, identity=username, fingerprint=redactor.add(credential))
        out.append(_exchange(index, url, status, answer, failure, held, redactor, started, CACHE_PROBE, sent))
        index += 1
        if status != 401:
            break  # accepted (or not refused the same way) at the URL itself: there is nothing to bust
    return out
