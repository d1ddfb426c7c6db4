"""The recorder: subscribes to one browser context and turns what happened into evidence.

Flows never capture anything themselves (playwright-pytest's ArtifactsRecorder is the model): the
recorder starts tracing when the context opens, listens to request/response events (never
`route`, which would disable Chromium's HTTP cache), adds CDP's view in Chromium (cache origin,
cookies withheld or refused, 401s that Chromium turns into net errors), snapshots cookies, storage,
service workers and the Cache API, and finds every JWT. Every value it keeps goes through the run's
`Redactor` first.

Its rooms: flows/cdp.py (Chromium's network listener), flows/snapshots.py (jar, storage, page state),
flows/exchange.py (header rules shared with WebKit), flows/bodies.py (response bodies). What stays
here (~490 lines) is one job: the context's event listeners and the per-request exchange they build,
which share the recorder's request maps.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Request, Response
from playwright.sync_api import Error as PlaywrightError

from loginprobe.evidence import (
    CacheStorageEntry,
    Engine,
    Exchange,
    Header,
    JwtRecord,
    ServiceWorkerRecord,
    SetCookie,
    StateSnapshot,
    StorageArea,
)
from loginprobe.flows import engines, snapshots
from loginprobe.flows.bodies import MAX_BODY, after_submission, body_excerpt
from loginprobe.flows.cdp import CdpHop, CdpNetwork
from loginprobe.flows.exchange import clean_url, read_headers, redact_request_headers, redact_response_headers
from loginprobe.jwts import decode_all
from loginprobe.parsing import parse_challenge_headers, parse_cookie_header, parse_http_date, parse_set_cookie
from loginprobe.secrets import Redactor


class Recorder:
    """Captures one context's evidence; call `start()` once it exists and `finish()` before closing it."""

    def __init__(
        self,
        context: BrowserContext,
        *,
        engine: Engine,
        redactor: Redactor,
        capture: bool,
        site_origins: list[str],
    ) -> None:
        self.context = context
        self.engine = engine
        self.redactor = redactor
        self.capture = capture
        self.site_origins = site_origins
        self.requests: list[Request] = []
        self.failures: dict[int, str] = {}
        self.pages: list[Page] = []
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self._cdp: dict[int, CdpNetwork] = {}
        self.cdp_ok = False
        self.notes: list[str] = []
        self.before: StateSnapshot | None = None
        self.raw_state: dict[str, Any] = {}  # the latest storage state, in memory only (raw values)
        self._hops: dict[int, CdpHop] = {}
        # Responses as their events came, and requests that finished: asking Playwright for the
        # response, sizes or body of an unfinished request waits forever (Firefox leaves an
        # answered auth challenge's 401 unfinished).
        self.responses: dict[int, Response] = {}
        self.finished: set[int] = set()
        self.bodies: dict[int, bytes] = {}  # document bodies read as they finished (see _request_finished)
        self.raw_before: dict[str, Any] = {}
        self.initial_storage: dict[str, dict[str, str]] = {}  # origin -> key -> fingerprint
        self.initial_raw: dict[str, dict[str, str]] = {}  # in memory only, for JWT decoding

    # -- subscription -----------------------------------------------------------------------
    def start(self) -> None:
        """Snapshot the state the context starts with, then subscribe and start tracing."""
        self.before = self._jar_snapshot("before")
        self.raw_before = dict(self.raw_state)
        self._watch_initial_storage()
        if self.capture:
            # DOM snapshots make the trace explorable; the screencast (screenshots=True) costs far more CPU
            # than it adds here, and a failure screenshot is taken separately.
            self.context.tracing.start(screenshots=False, snapshots=True, sources=False)
        self.context.on("request", self._request)
        self.context.on("response", self._response)
        self.context.on("requestfinished", self._request_finished)
        self.context.on("requestfailed", self._request_failed)
        self.context.on("page", self.attach)
        for page in self.context.pages:
            self.attach(page)

    def _watch_initial_storage(self) -> None:
        """Report each origin's localStorage as its first document starts, before the site's scripts.

        Playwright's storage_state only knows origins visited in this context's lifetime, so a
        returning browser's stored tokens would otherwise be invisible until after the login.
        A binding (no request interception) carries the values out; they are fingerprinted here.
        """
        try:
            self.context.expose_binding("__loginprobeStorage", self._storage_seen)
            self.context.add_init_script(snapshots.INITIAL_STORAGE_JS)
        except PlaywrightError as exc:
            self.notes.append(f"initial localStorage not observable: {str(exc).splitlines()[0]}")

    def _storage_seen(self, source: Any, origin: str, items: dict[str, str]) -> None:
        if origin in self.initial_storage or not isinstance(items, dict):
            return
        self.initial_storage[origin] = {
            str(k): self.redactor.add(str(v), searchable=len(str(v)) >= 8) for k, v in items.items()
        }
        self.initial_raw[origin] = {str(k): str(v) for k, v in items.items()}

    def _request(self, request: Request) -> None:
        self.requests.append(request)

    def _response(self, response: Response) -> None:
        self.responses[id(response.request)] = response

    def _request_finished(self, request: Request) -> None:
        self.finished.add(id(request))
        # Chromium drops a document's body once its page navigates on: read the login's own answers
        # (an error page, the page a submission led to) while they can still be read. A script's
        # refused request goes the same way once the flow opens the next page, and its words are what
        # tell the causes apart: a login fetch's 400 "Incorrect password", an API's 403 "Authentication
        # credentials were not provided." (read late, Chromium had dropped it in one run out of several).
        response = self.responses.get(id(request))
        if response is None or request.service_worker is not None:
            return
        if request.is_navigation_request():
            wanted = response.status >= 400 or after_submission(request)
        else:
            # Not a script's Basic/Digest 401: an engine may still answer that challenge on the same
            # request, and Firefox over BiDi waits forever for the body of one it answered.
            challenge = response.headers.get("www-authenticate", "").split(" ", 1)[0].lower()
            wanted = response.status >= 400 and challenge not in ("basic", "digest")
        length = response.headers.get("content-length", "")
        if wanted and not (length.isdigit() and int(length) > MAX_BODY):
            try:
                self.bodies[id(request)] = response.body()
            except PlaywrightError:
                pass  # read again (or given up) when the exchange is built

    def _request_failed(self, request: Request) -> None:
        self.failures[id(request)] = request.failure or "failed"

    # -- queries (what the probe asks while the page runs) ----------------------------------
    def request_count(self) -> int:
        return len(self.requests)

    def requested(self, matches: Callable[[str], bool], by_script: bool = False, since: int = 0) -> bool:
        """Some request (from number `since` on) was for a matching URL (`by_script`: made by a page's
        scripts, not a navigation)."""
        return any(
            matches(r.url) and not (by_script and r.is_navigation_request()) for r in self.requests[since:]
        )

    def in_flight(self) -> bool:
        """Some request has neither finished nor failed yet."""
        return any(id(r) not in self.finished and id(r) not in self.failures for r in self.requests)

    def unfinished(self, matches: Callable[[str], bool]) -> bool:
        """Some request for a matching URL has its response but has not finished yet: its body (the
        server's words, which the checks quote) is only read once it has. A Basic/Digest 401 does not
        count: Firefox over BiDi never finishes one it answered."""
        for request in self.requests:
            if not matches(request.url) or id(request) in self.finished or id(request) in self.failures:
                continue
            response = self.responses.get(id(request))
            if response is None:
                continue  # unanswered: see unanswered()
            challenge = response.headers.get("www-authenticate", "").split(" ", 1)[0].lower()
            if not (response.status == 401 and challenge in ("basic", "digest")):
                return True
        return False

    def unanswered(self, matches: Callable[[str], bool]) -> bool:
        """Some request for a matching URL has neither a response nor a failure yet."""
        done = {**self.responses, **self.failures}
        return any(matches(r.url) and id(r) not in done for r in self.requests)

    def attach(self, page: Page) -> None:
        if page in self.pages:
            return
        self.pages.append(page)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.page_errors.append(self.redactor.text(str(error))[:500]))
        if self.engine == "chromium":
            try:
                session = self.context.new_cdp_session(page)
                self._cdp[len(self.pages) - 1] = CdpNetwork(session)
                self.cdp_ok = True
            except PlaywrightError as exc:
                # Remote or non-Chromium-protocol browsers refuse CDP; Playwright's events remain.
                self.notes.append(
                    f"CDP unavailable ({str(exc).splitlines()[0]}): cache origin from Playwright only"
                )

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(self.redactor.text(message.text)[:500])

    def page_index(self, page: Page) -> int:
        return self.pages.index(page) if page in self.pages else 0

    # -- snapshots --------------------------------------------------------------------------
    def _jar_snapshot(self, taken: Literal["before", "after"]) -> StateSnapshot:
        """Cookies and localStorage from Playwright's storage state (no navigation needed)."""
        snapshot, state = snapshots.read_jar(self.context, taken, self.redactor)
        if state is not None:
            self.raw_state = state
        return snapshot

    def _page_state(
        self,
    ) -> tuple[list[ServiceWorkerRecord], list[CacheStorageEntry], dict[str, dict[str, str]], list[str]]:
        """Service workers, Cache API and sessionStorage, read from pages on the site's origins."""
        return snapshots.read_pages(
            self.pages,
            self.site_origins,
            self.redactor,
            self._response_headers,
            lambda url: clean_url(url, self.redactor),
        )

    # -- headers ----------------------------------------------------------------------------
    def _request_headers(self, headers: list[Header]) -> list[Header]:
        return redact_request_headers(headers, self.redactor)

    def _response_headers(self, headers: list[Header]) -> list[Header]:
        return redact_response_headers(headers, self.redactor)

    # -- exchanges --------------------------------------------------------------------------
    def _exchange(self, index: int, request: Request, ids: dict[int, int], jwts: list[JwtRecord]) -> Exchange:
        response = self.responses.get(id(request))
        finished = id(request) in self.finished
        settled = finished or id(request) in self.failures
        raw_request_headers = list(request.headers.items())
        # The raw (wire) headers of an unsettled request are awaited forever, and so are those of a
        # request a service worker made in Chromium (its script fetch included): no ExtraInfo comes.
        wire_known = settled and not (self.engine == "chromium" and request.service_worker is not None)
        if wire_known:
            try:
                raw_request_headers = [(h["name"], h["value"]) for h in request.headers_array()]
            except PlaywrightError:
                pass  # keep the provisional headers Playwright gave with the request event
        cdp_hop = None
        page_index = 0
        try:
            frame_page = request.frame.page
            page_index = self.page_index(frame_page)
        except (PlaywrightError, AttributeError):
            frame_page = None
        network = self._cdp.get(page_index)
        if network is not None:
            cdp_hop = network.take(request.method, request.url)
            if cdp_hop is not None:
                self._hops[id(request)] = cdp_hop
        if cdp_hop is not None and cdp_hop.request_headers:
            # CDP's ExtraInfo headers are what went on the wire (Cookie included).
            raw_request_headers = cdp_hop.request_headers
        raw_response_headers: list[Header] = []
        status = None
        status_text = ""
        header_bytes: int | None = None  # responseHeadersSize, asked of settled wire requests only
        if response is not None:
            status = response.status
            status_text = response.status_text
            raw_response_headers = list(response.headers.items())
            if wire_known:
                try:
                    raw_response_headers = [(h["name"], h["value"]) for h in response.headers_array()]
                except PlaywrightError:
                    pass  # keep the provisional headers of the response event
            if finished and wire_known:
                try:
                    header_bytes = request.sizes()["responseHeadersSize"]
                except PlaywrightError:
                    header_bytes = None
        elif cdp_hop is not None and cdp_hop.status is not None:
            status = cdp_hop.status
        timing = request.timing
        served_from, signal = engines.served_from_playwright(
            self.engine,
            bool(response and response.from_service_worker),
            timing.get("responseStart", 0),
            header_bytes,
        )
        if cdp_hop is not None:
            served_from, signal = cdp_hop.served_from, "chromium CDP"
        facts = read_headers(raw_request_headers, raw_response_headers, self.redactor, index, jwts)
        server_date = facts.server_date
        set_cookies: list[SetCookie] = []
        blocked = dict(cdp_hop.blocked_set_cookies) if cdp_hop is not None else {}
        for name, value in raw_response_headers:
            if name.lower() != "set-cookie":
                continue
            for line in value.split("\n"):
                parsed = parse_set_cookie(line, self.redactor)
                if parsed is None:
                    continue
                if cdp_hop is not None:
                    reasons = blocked.get(parsed.name, [])
                    parsed = parsed.model_copy(update={"stored": not reasons, "blocked_reasons": reasons})
                set_cookies.append(parsed)
        started = None
        if timing.get("startTime", 0) > 0:
            started = datetime.fromtimestamp(timing["startTime"] / 1000, UTC)
        duration = None
        if timing.get("responseEnd", -1) > 0:
            duration = round(timing["responseEnd"], 1)
        failure = self.failures.get(id(request)) or (cdp_hop.failure if cdp_hop is not None else None)
        excerpt = None
        if finished:  # the body of an unfinished response is awaited forever
            excerpt = body_excerpt(
                request,
                response,
                status,
                raw_response_headers,
                index,
                server_date,
                jwts,
                self.redactor,
                self.bodies.get(id(request)),
            )
        redirected_from = None
        if request.redirected_from is not None:
            redirected_from = ids.get(id(request.redirected_from))
        try:
            frame_url = clean_url(request.frame.url, self.redactor)
        except (PlaywrightError, AttributeError):
            frame_url = None
        return Exchange(
            id=index,
            method=request.method,
            url=clean_url(request.url, self.redactor),
            resource_type=request.resource_type,
            is_navigation=request.is_navigation_request(),
            frame_url=frame_url,
            page=page_index,
            request_headers=self._request_headers(raw_request_headers),
            status=status,
            status_text=status_text,
            response_headers=self._response_headers(raw_response_headers),
            served_from=served_from,
            served_from_signal=signal,
            redirected_from=redirected_from,
            started_at=started,
            duration_ms=duration,
            failure=failure,
            authorization=facts.authorization,
            challenges=facts.challenges,
            proxy_challenges=facts.proxy_challenges,
            cookies_sent=facts.cookies_sent,
            cookies_not_sent=cdp_hop.cookies_not_sent if cdp_hop is not None else [],
            set_cookies=set_cookies,
            server_date=server_date,
            body_excerpt=excerpt,
        )

    def _challenge_round(
        self, index: int, answered: Exchange, sent: list[Header], status: int | None, headers: list[Header]
    ) -> Exchange:
        """A challenge Chromium answered within one request, as its own exchange."""
        return Exchange(
            id=index,
            method=answered.method,
            url=answered.url,
            resource_type=answered.resource_type,
            is_navigation=answered.is_navigation,
            frame_url=answered.frame_url,
            page=answered.page,
            request_headers=self._request_headers(sent),
            status=status,
            response_headers=self._response_headers(headers),
            served_from="network",
            served_from_signal="chromium CDP (auth round trip inside one request)",
            started_at=answered.started_at,
            challenges=parse_challenge_headers([v for k, v in headers if k.lower() == "www-authenticate"]),
            proxy_challenges=parse_challenge_headers(
                [v for k, v in headers if k.lower() == "proxy-authenticate"]
            ),
            cookies_sent=[n for k, v in sent if k.lower() == "cookie" for n in parse_cookie_header(v)],
            server_date=parse_http_date(next((v for k, v in headers if k.lower() == "date"), None)),
        )

    def finish(self) -> tuple[list[Exchange], StateSnapshot, list[JwtRecord], list[str]]:
        """Build the exchanges, the after-snapshot and the JWT list; call while the context is open."""
        jwts: list[JwtRecord] = []
        ids: dict[int, int] = {}
        exchanges: list[Exchange] = []
        for request in list(self.requests):
            if not request.url.startswith(("http://", "https://")):
                continue  # data:, blob:, about: (the icon of Chromium's error page): no network, no server
            exchange = self._exchange(len(exchanges), request, ids, jwts)
            hop = self._hops.get(id(request))
            if hop is not None and hop.auth_rounds:
                for sent, status, headers in hop.auth_rounds:
                    exchanges.append(self._challenge_round(len(exchanges), exchange, sent, status, headers))
                exchange = exchange.model_copy(update={"id": len(exchanges)})
            ids[id(request)] = exchange.id
            exchanges.append(exchange)
        # Chromium may answer a 401 navigation with a net error and no Playwright response event;
        # CDP still saw it, so it joins the record.
        for network_index, network in self._cdp.items():
            for hop in network.unmatched():
                if (hop.status is None and hop.failure is None) or not hop.url.startswith(
                    ("http://", "https://")
                ):
                    continue
                exchanges.append(
                    Exchange(
                        id=len(exchanges),
                        method=hop.method,
                        url=clean_url(hop.url, self.redactor),
                        page=network_index,
                        status=hop.status,
                        served_from=hop.served_from,
                        served_from_signal="chromium CDP (no Playwright event)",
                        failure=hop.failure,
                        request_headers=self._request_headers(hop.request_headers or []),
                        cookies_not_sent=hop.cookies_not_sent,
                    )
                )
        after = self._jar_snapshot("after")
        if self.before is not None:
            known_before = {area.origin for area in self.before.storage}
            extra = [
                StorageArea(origin=origin, local=items)
                for origin, items in self.initial_storage.items()
                if origin not in known_before and items
            ]
            if extra:
                note = (
                    "localStorage of "
                    + ", ".join(a.origin for a in extra)
                    + " read as its first page started"
                )
                self.before = self.before.model_copy(
                    update={"storage": [*self.before.storage, *extra], "note": note}
                )
        workers, entries, sessions, notes = self._page_state()
        storage = list(after.storage)
        known = {area.origin for area in storage}
        storage = [area.model_copy(update={"session": sessions.get(area.origin, {})}) for area in storage] + [
            StorageArea(origin=o, session=s) for o, s in sessions.items() if o not in known
        ]
        after = after.model_copy(
            update={
                "service_workers": workers,
                "cache_storage": entries,
                "storage": storage,
                "note": "; ".join(notes),
            }
        )
        latest_date = next((ex.server_date for ex in reversed(exchanges) if ex.server_date), None)
        jwts.extend(self._state_jwts(latest_date))
        return exchanges, after, jwts, self.notes

    def _state_jwts(self, server_date: datetime | None) -> list[JwtRecord]:
        """JWTs held in cookies and storage at the end of the run."""
        found: list[JwtRecord] = []
        state = self.raw_state
        places: list[tuple[str, str]] = [
            (str(cookie.get("value", "")), f"cookie {cookie['name']}") for cookie in state.get("cookies", [])
        ]
        for origin in state.get("origins", []):
            for item in origin.get("localStorage", []):
                places.append(
                    (str(item.get("value", "")), f"localStorage {item['name']} ({origin['origin']})")
                )
        for origin_name, items in self.initial_raw.items():
            for key, value in items.items():
                places.append((value, f"localStorage {key} ({origin_name}) before the login"))
        for text, where in places:
            found.extend(decode_all(text, found_in=where, redactor=self.redactor, server_date=server_date))
        return found
