"""What sits between the browser and the lab app: a caching reverse proxy (a CDN) and a forward HTTP
proxy (a corporate one). Each can be switched into a way real intermediaries break logins."""

from __future__ import annotations

import base64
import binascii
import http.client
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from werkzeug.datastructures import ResponseCacheControl
from werkzeug.http import http_date, parse_cache_control_header
from werkzeug.wrappers import Request, Response

from loginprobe.lab.state import LabState
from loginprobe.lab.wsgi import HOP_BY_HOP

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

Headers = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Upstream:
    status: int
    reason: str
    headers: Headers
    body: bytes


def forward(request: Request, host: str, port: int, path: str, headers: Headers) -> Upstream:
    """Send the request on (plain HTTP) and read the whole response."""
    # The lab's servers listen on 127.0.0.1 only; `localhost` may resolve to ::1 first.
    connect_to = "127.0.0.1" if host == "localhost" else host
    connection = http.client.HTTPConnection(connect_to, port, timeout=30)
    try:
        body = request.get_data() if request.method not in ("GET", "HEAD") else None
        connection.putrequest(request.method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body is not None and not any(name.lower() == "content-length" for name, _ in headers):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        data = response.read()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}]
        return Upstream(response.status, response.reason, kept, data)
    finally:
        connection.close()


def request_headers(request: Request, *, drop: Iterable[str] = ()) -> Headers:
    """The request's end-to-end headers, repeats kept, without hop-by-hop ones and `drop`."""
    dropped = HOP_BY_HOP | {name.lower() for name in drop}
    return [(name, value) for name, value in request.headers.items() if name.lower() not in dropped]


def to_response(upstream: Upstream, extra: Headers) -> Response:
    response = Response(upstream.body, status=f"{upstream.status} {upstream.reason}")
    response.headers.clear()  # no default Content-Type: exactly the upstream's headers
    for name, value in [*upstream.headers, *extra]:
        response.headers.add(name, value)
    return response


@dataclass(frozen=True, slots=True)
class _Entry:
    upstream: Upstream
    vary: dict[str, str | None]  # request header values the response varies on, at storage time
    stored_at: float
    ttl: float


class CachingProxy:
    """A shared cache in front of the app (RFC 9111, simplified). Healthy, it bypasses requests with
    `Authorization` or `Cookie` and honours `Vary`; with `cache_ignore_vary` it keys by URL alone and
    stores whatever carries max-age/s-maxage, 401s of anyone included, as a misconfigured CDN does.

    With `shared_cache_cookie_ttl_s`, it is a Varnish whose `vcl_hash` adds the Cookie header and whose
    `vcl_backend_response` forces a TTL: requests with `Authorization` still pass (builtin VCL), but a
    200 to a cookie (or no cookie) is kept for that long and served to the same Cookie header again,
    whatever the origin's `Cache-Control` said (`no-store`, `private`), with `Age` and `X-Cache: HIT`."""

    def __init__(self, lab: LabState, upstream_port: int) -> None:
        self.lab = lab
        self.upstream_port = upstream_port
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def _fresh_entry(self, key: str, request: Request, ignore_vary: bool, now: float) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or now - entry.stored_at >= entry.ttl:
            return None
        if not ignore_vary and any(request.headers.get(name) != value for name, value in entry.vary.items()):
            return None
        return entry

    def handle(self, request: Request) -> Response:
        cookie_ttl = self.lab.switches.shared_cache_cookie_ttl_s
        if cookie_ttl and "Authorization" not in request.headers:
            return self._handle_cookie_keyed(request, float(cookie_ttl))
        ignore_vary = self.lab.switches.cache_ignore_vary
        now = self.lab.now()
        key = request.full_path.rstrip("?") if request.query_string else request.path
        personal = "Authorization" in request.headers or "Cookie" in request.headers
        lookup = request.method in ("GET", "HEAD") and (ignore_vary or not personal)
        entry = self._fresh_entry(key, request, ignore_vary, now) if lookup else None
        via = [("Via", "1.1 lab-cache")]
        if entry is not None:
            age = str(max(0, int(now - entry.stored_at)))
            return to_response(entry.upstream, [("Age", age), ("X-Cache", "HIT"), *via])
        headers = [*request_headers(request), *via]
        upstream = forward(request, "127.0.0.1", self.upstream_port, request.full_path.rstrip("?"), headers)
        if lookup:
            self._maybe_store(key, request, upstream, ignore_vary, now)
        return to_response(upstream, [("X-Cache", "MISS"), *via])

    def _handle_cookie_keyed(self, request: Request, ttl: float) -> Response:
        now = self.lab.now()
        path = request.full_path.rstrip("?") if request.query_string else request.path
        key = f"{path}\ncookie={request.headers.get('Cookie', '')}"
        cacheable = request.method in ("GET", "HEAD")
        entry = self._fresh_entry(key, request, True, now) if cacheable else None
        via = [("Via", "1.1 lab-cache (Varnish)")]
        if entry is not None:
            age = str(max(0, int(now - entry.stored_at)))
            return to_response(entry.upstream, [("Age", age), ("X-Cache", "HIT"), *via])
        headers = [*request_headers(request), *via]
        upstream = forward(request, "127.0.0.1", self.upstream_port, request.full_path.rstrip("?"), headers)
        set_cookie = any(name.lower() == "set-cookie" for name, _ in upstream.headers)
        if cacheable and upstream.status == 200 and not set_cookie:
            with self._lock:
                self._entries[key] = _Entry(upstream, {}, now, ttl)
        return to_response(upstream, [("X-Cache", "MISS"), *via])

    def _maybe_store(
        self, key: str, request: Request, upstream: Upstream, ignore_vary: bool, now: float
    ) -> None:
        def values(name: str) -> list[str]:
            return [v for k, v in upstream.headers if k.lower() == name]

        control = parse_cache_control_header(", ".join(values("cache-control")), cls=ResponseCacheControl)
        if control.no_store or control.private or control.no_cache:
            return
        ttl = control.s_maxage if control.s_maxage is not None else control.max_age
        if not ttl or ttl <= 0:
            return
        vary_names = [n.strip() for v in values("vary") for n in v.split(",") if n.strip()]
        if not ignore_vary and ("*" in vary_names or values("set-cookie")):
            return
        vary = {} if ignore_vary else {name: request.headers.get(name) for name in vary_names}
        with self._lock:
            self._entries[key] = _Entry(upstream, vary, now, float(ttl))


class ForwardProxy:
    """A forward proxy for plain-HTTP absolute-URI requests to the lab's own hosts. `proxy_mode`:
    "pass", "strip-authorization" (drops the `Authorization` header, as some corporate proxies do) or
    "require-auth" (407 unless `Proxy-Authorization` carries the lab user's credentials)."""

    ALLOWED_HOSTS = ("127.0.0.1", "localhost")

    def __init__(self, lab: LabState) -> None:
        self.lab = lab

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request, environ.get("RAW_URI", ""))
        response.headers.add("Via", "1.1 lab-proxy")
        if "Date" not in response.headers:
            response.headers["Date"] = http_date(self.lab.now())
        return response(environ, start_response)

    def _proxy_auth_ok(self, request: Request) -> bool:
        scheme, _, value = request.headers.get("Proxy-Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            username, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return self.lab.check_password(username, password)

    def handle(self, request: Request, target: str) -> Response:
        if request.method == "CONNECT":
            return Response("The lab proxy tunnels nothing (plain HTTP only).\n", status=501)
        parts = urlsplit(target)
        if parts.scheme != "http" or not parts.hostname:
            return Response("Send an absolute http:// URI to this proxy.\n", status=400)
        if parts.hostname not in self.ALLOWED_HOSTS:
            return Response("The lab proxy only reaches the lab.\n", status=403)
        mode = self.lab.switches.proxy_mode
        if mode == "require-auth" and not self._proxy_auth_ok(request):
            response = Response("Proxy authentication required.\n", status=407)
            response.headers["Proxy-Authenticate"] = 'Basic realm="lab-proxy"'
            return response
        drop = ["Host", "Authorization"] if mode == "strip-authorization" else ["Host"]
        headers = [("Host", parts.netloc), *request_headers(request, drop=drop), ("Via", "1.1 lab-proxy")]
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            upstream = forward(request, parts.hostname, parts.port or 80, path, headers)
        except OSError as exc:
            return Response(f"The lab proxy could not reach {parts.netloc}: {exc}\n", status=502)
        return to_response(upstream, [])
