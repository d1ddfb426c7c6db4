"""Chromium's network listener: CDP `Network` events of one page, kept as hops and joined with
Playwright's requests when the recorder builds its exchanges.

CDP says what Playwright's events do not: whether a response came from the disk or memory cache,
a service worker or the prefetch cache; the cookies Chromium withheld or refused, with its reasons;
and the auth round trips it answered inside one request (only as extra ExtraInfo events).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import CDPSession

from loginprobe.evidence import CookieNotSent, Header, ServedFrom


@dataclass(slots=True)
class CdpHop:
    """Chromium's view of one request hop (a redirect makes a new hop with the same requestId)."""

    request_id: str
    url: str
    method: str
    served_from: ServedFrom = "network"
    status: int | None = None
    request_headers: list[Header] | None = None
    cookies_not_sent: list[CookieNotSent] = field(default_factory=list)
    blocked_set_cookies: list[tuple[str, list[str]]] = field(default_factory=list)
    failure: str | None = None
    matched: bool = False
    # Chromium answers an auth challenge inside one request: the earlier round trips (the 401s and
    # what was sent before them) only show as extra ExtraInfo events of the same requestId.
    auth_rounds: list[tuple[list[Header], int | None, list[Header]]] = field(default_factory=list)


def raw_header_pairs(event: dict[str, Any]) -> list[Header]:
    """Response headers of an ExtraInfo event; repeated headers arrive joined by newlines."""
    pairs: list[Header] = []
    for name, value in event.get("headers", {}).items():
        for line in str(value).split("\n"):
            pairs.append((str(name), line))
    return pairs


class CdpNetwork:
    """Listens to CDP Network events of one page; joins them with Playwright's requests at the end."""

    def __init__(self, session: CDPSession) -> None:
        self.hops: list[CdpHop] = []
        self._by_id: dict[str, list[CdpHop]] = defaultdict(list)
        self._request_extra: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._response_extra: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._resolved = False
        session.on("Network.requestWillBeSent", self._will_be_sent)
        session.on("Network.responseReceived", self._response)
        session.on("Network.requestServedFromCache", self._served_from_cache)
        session.on(
            "Network.requestWillBeSentExtraInfo", lambda e: self._request_extra[e["requestId"]].append(e)
        )
        session.on(
            "Network.responseReceivedExtraInfo", lambda e: self._response_extra[e["requestId"]].append(e)
        )
        session.on("Network.loadingFailed", self._failed)
        session.send("Network.enable")

    def _current(self, request_id: str) -> CdpHop | None:
        hops = self._by_id.get(request_id)
        return hops[-1] if hops else None

    def _will_be_sent(self, event: dict[str, Any]) -> None:
        previous = self._current(event["requestId"])
        redirect = event.get("redirectResponse")
        if previous is not None and redirect is not None:
            self._apply_response(previous, redirect)
        hop = CdpHop(event["requestId"], event["request"]["url"], event["request"]["method"])
        self.hops.append(hop)
        self._by_id[hop.request_id].append(hop)

    @staticmethod
    def _apply_response(hop: CdpHop, response: dict[str, Any]) -> None:
        hop.status = response.get("status")
        if response.get("fromServiceWorker"):
            hop.served_from = "service-worker"
        elif response.get("fromPrefetchCache"):
            hop.served_from = "prefetch-cache"
        elif response.get("fromDiskCache"):
            hop.served_from = "disk-cache"

    def _response(self, event: dict[str, Any]) -> None:
        hop = self._current(event["requestId"])
        if hop is not None:
            self._apply_response(hop, event["response"])

    def _served_from_cache(self, event: dict[str, Any]) -> None:
        hop = self._current(event["requestId"])
        if hop is not None and hop.served_from == "network":
            hop.served_from = "memory-cache"

    def _failed(self, event: dict[str, Any]) -> None:
        hop = self._current(event["requestId"])
        if hop is not None:
            hop.failure = event.get("errorText") or event.get("blockedReason")

    def _resolve(self) -> None:
        """Pair ExtraInfo events with hops: Chromium sends them, in order, for network hops only."""
        if self._resolved:
            return
        self._resolved = True
        for request_id, hops in self._by_id.items():
            network_hops = [h for h in hops if h.served_from in ("network", "service-worker")]
            for hop, event in zip(network_hops, self._request_extra.get(request_id, []), strict=False):
                hop.request_headers = [(str(k), str(v)) for k, v in event.get("headers", {}).items()]
                for item in event.get("associatedCookies", []):
                    reasons = item.get("blockedReasons") or []
                    if reasons:
                        cookie = item.get("cookie", {})
                        hop.cookies_not_sent.append(
                            CookieNotSent(
                                name=cookie.get("name", "?"),
                                domain=cookie.get("domain"),
                                path=cookie.get("path"),
                                reasons=[str(r) for r in reasons],
                            )
                        )
            request_events = self._request_extra.get(request_id, [])
            response_events = self._response_extra.get(request_id, [])
            if network_hops and len(response_events) > len(network_hops):
                # More responses than hops: the first ones were auth challenges the browser answered.
                rounds = len(response_events) - len(network_hops)
                last = network_hops[-1]
                for n in range(rounds):
                    sent = (
                        request_events[len(network_hops) - 1 + n]
                        if len(request_events) > len(network_hops) - 1 + n
                        else {}
                    )
                    answer = response_events[len(network_hops) - 1 + n]
                    last.auth_rounds.append(
                        (
                            [(str(k), str(v)) for k, v in sent.get("headers", {}).items()],
                            answer.get("statusCode"),
                            raw_header_pairs(answer),
                        )
                    )
                response_events = response_events[: len(network_hops) - 1] + response_events[-1:]
                request_events = request_events[: len(network_hops) - 1] + request_events[-1:]
                for hop, event in zip(network_hops, request_events, strict=False):
                    hop.request_headers = [(str(k), str(v)) for k, v in event.get("headers", {}).items()]
            for hop, event in zip(network_hops, response_events, strict=False):
                for blocked in event.get("blockedCookies", []):
                    line = str(blocked.get("cookieLine", ""))
                    name = line.split("=", 1)[0].strip()
                    hop.blocked_set_cookies.append(
                        (name, [str(r) for r in blocked.get("blockedReasons", [])])
                    )
                if hop.status is None and event.get("statusCode"):
                    hop.status = int(event["statusCode"])

    def take(self, method: str, url: str) -> CdpHop | None:
        """The first unmatched hop for this method and URL."""
        self._resolve()
        for hop in self.hops:
            if not hop.matched and hop.method == method and hop.url == url:
                hop.matched = True
                return hop
        return None

    def unmatched(self) -> list[CdpHop]:
        """Hops Playwright never reported (Chromium can swallow a 401 navigation into a net error)."""
        self._resolve()
        return [hop for hop in self.hops if not hop.matched]
