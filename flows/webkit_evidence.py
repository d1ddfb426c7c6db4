"""WebKitGTK's evidence: the shell's resource log, the page's state and the profile's cookie database,
turned into exchanges and snapshots by the rules every engine shares (flows/exchange.py, flows/snapshots.py).
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from loginprobe.evidence import (
    CookieRecord,
    Exchange,
    Header,
    JwtRecord,
    ServedFrom,
    StateSnapshot,
    StorageArea,
    header_value,
)
from loginprobe.flows import bodies, snapshots
from loginprobe.flows.exchange import clean_url, read_headers, redact_request_headers, redact_response_headers
from loginprobe.jwts import decode_all
from loginprobe.secrets import Redactor

# A response whose Date is this much older than its request came from a cache (heuristic).
STALE_DATE_S = 3.0

EVIDENCE_SOURCES: dict[str, str] = {
    "exchanges": "WebKitGTK WebKitWebResource signals in loginprobe's shell (documents, fetch, XHR)",
    "navigation_status": "the main resource's response in the resource log (Resource Timing in WebKitGTK "
    "2.50 has no responseStatus)",
    "request_headers": "the web process's request (no Cookie: the network process adds it later)",
    "response_headers": "the resource log (Set-Cookie removed by WebKit before the UI process)",
    "page_requests": "in-page observer of fetch/XHR, injected at document start",
    "challenges": "WebKitWebView::authenticate in the shell (scheme and realm; the 401's own headers "
    "are not shown)",
    "cookies": "the profile's cookie database (persistent cookies) and WebDriver Get All Cookies "
    "(the last page's origin, session cookies included)",
    "storage": "JavaScript on the last page (localStorage, sessionStorage) and the in-page observer "
    "(each origin's localStorage as its first page started)",
    "cache_storage": "JavaScript on the last page (Cache API, service worker registrations)",
    "served_from": "heuristic: a response whose Date precedes its request by more than "
    f"{STALE_DATE_S:g} s came from the HTTP cache",
}
NOT_OBSERVABLE: tuple[str, ...] = ("cookies_sent", "set_cookies", "cookies_not_sent", "challenge_headers")


class EvidenceBuilder:
    """Turns the shell's log, the page's state and the cookie jar into evidence (every value redacted)."""

    def __init__(self, redactor: Redactor) -> None:
        self.redactor = redactor
        self.jwts: list[JwtRecord] = []

    def url(self, url: str) -> str:
        return clean_url(url, self.redactor)

    def request_headers(self, headers: list[Header]) -> list[Header]:
        return redact_request_headers(headers, self.redactor)

    def response_headers(self, headers: list[Header]) -> list[Header]:
        return redact_response_headers(headers, self.redactor)

    def exchanges(self, events: list[dict[str, Any]], observed: list[dict[str, Any]]) -> list[Exchange]:
        """One exchange per hop: each redirect and each answered challenge is its own."""
        by_id: dict[int, dict[str, Any]] = {}
        order: list[int] = []
        challenges: list[dict[str, Any]] = []
        for event in events:
            kind = event["event"]
            if kind == "request":
                by_id[event["id"]] = {**event, "hops": [], "end": None}
                order.append(event["id"])
            elif kind in ("redirect", "finished", "failed") and event.get("id") in by_id:
                target = by_id[event["id"]]
                if kind == "redirect":
                    target["hops"].append(event)
                else:
                    target["end"] = event
            elif kind == "challenge":
                challenges.append(event)
        page_calls = {
            (o.get("method"), o.get("url")): o for o in observed if o.get("kind") in ("fetch", "xhr")
        }
        page_bodies: dict[tuple[Any, Any], list[str]] = {}
        for o in observed:
            if o.get("kind") == "body" and isinstance(o.get("body"), str):
                page_bodies.setdefault((o.get("method"), o.get("url")), []).append(o["body"])
        out: list[Exchange] = []
        # The main document each page last navigated to: the frame a later fetch/XHR or subresource came
        # from (the shell's log has no frame of its own; WebKit here records the top frame only).
        documents: dict[Any, str] = {}
        for rid in order:
            item = by_id[rid]
            # A document's body comes with its end in the shell's log; a fetch/XHR body from the page.
            bodies_here = page_bodies.get((item["method"], item["url"]))
            body = (item["end"] or {}).get("body") if item.get("main") else None
            if body is None and bodies_here:
                body = bodies_here.pop(0)
            url, method, headers = item["url"], item["method"], item["headers"]
            if not url.startswith(("http://", "https://")):
                continue
            started = datetime.fromtimestamp(item["t"], UTC)
            kind = page_calls.get((method, url), {}).get("kind")
            resource_type = "document" if item.get("main") else (kind or "other")
            frame = None if item.get("main") else documents.get(item.get("page"))
            previous: int | None = None
            for hop in item["hops"]:
                ex = self._exchange(
                    len(out), method, url, headers, hop["status"], hop["headers"], item, started
                )
                where = {"resource_type": resource_type, "frame_url": frame}
                out.append(ex.model_copy(update={"redirected_from": previous, **where}))
                previous = ex.id
                url, headers = hop["to"], hop.get("to_headers") or headers
                if hop["status"] in (301, 302, 303) and method == "POST":
                    method = "GET"
            for challenge in challenges:
                if challenge.get("page") == item.get("page") and self._challenge_for(
                    challenge, url, item, by_id
                ):
                    challenge["matched"] = True
                    if challenge.get("answered") is False:
                        continue  # left unanswered, that 401 is the load's own response, shown below
                    out.append(
                        self._challenge_round(len(out), method, url, headers, challenge, started, item)
                    )
            end = item["end"] or {}
            ex = self._exchange(
                len(out), method, url, headers, end.get("status"), end.get("headers") or [], item, started
            )
            update: dict[str, Any] = {
                "redirected_from": previous,
                "resource_type": resource_type,
                "frame_url": frame,
            }
            if item.get("main"):
                documents[item.get("page")] = ex.url
            if end.get("event") == "failed":
                update["failure"] = end.get("error")
            if end.get("event") == "finished" and end.get("status") in (0, None):
                update["status"] = None
            raw_headers: list[Header] = [(str(k), str(v)) for k, v in end.get("headers") or []]
            after_submit = str(item["method"]).upper() == "POST"  # or a redirect chain a POST started
            if body is not None and bodies.wanted(ex.status, raw_headers, after_submit):
                update["body_excerpt"] = bodies.excerpt(
                    body,
                    raw_headers,
                    after_submit,
                    f"response body of {method} {ex.url}",
                    ex.id,
                    ex.server_date,
                    self.jwts,
                    self.redactor,
                )
            out.append(ex.model_copy(update=update))
        return out

    @staticmethod
    def _challenge_for(
        challenge: dict[str, Any], url: str, item: dict[str, Any], by_id: dict[int, dict[str, Any]]
    ) -> bool:
        """A challenge belongs to the latest request to its host started before it."""
        if challenge.get("matched") or challenge.get("proxy"):
            return False
        host = urlsplit(url).hostname
        if host != challenge.get("host") or item["t"] > challenge["t"]:
            return False
        later = [
            other
            for other in by_id.values()
            if urlsplit(other["url"]).hostname == host and item["t"] < other["t"] <= challenge["t"]
        ]
        return not later

    def _challenge_round(
        self,
        index: int,
        method: str,
        url: str,
        headers: list[Header],
        challenge: dict[str, Any],
        started: datetime,
        item: dict[str, Any],
    ) -> Exchange:
        """The 401 WebKit answered inside one load, rebuilt from the shell's authenticate signal."""
        params = {"realm": challenge["realm"]} if challenge.get("realm") else {}
        scheme = str(challenge.get("scheme", ""))
        from loginprobe.evidence import Challenge

        return Exchange(
            id=index,
            method=method,
            url=self.url(url),
            resource_type="document" if item.get("main") else "other",
            is_navigation=bool(item.get("main")),
            page=int(item.get("page", 0)),
            request_headers=self.request_headers([tuple(h) for h in headers]),  # type: ignore[misc]
            status=401,
            served_from="network",
            served_from_signal="webkitgtk authenticate signal (the challenge round, rebuilt: its own "
            "headers are not shown)",
            started_at=started,
            challenges=[Challenge(scheme=scheme, params=params)] if scheme else [],
        )

    def _exchange(
        self,
        index: int,
        method: str,
        url: str,
        raw_request: list[Any],
        status: int | None,
        raw_response: list[Any],
        item: dict[str, Any],
        started: datetime,
    ) -> Exchange:
        request_headers: list[Header] = [(str(k), str(v)) for k, v in raw_request]
        response_headers: list[Header] = [(str(k), str(v)) for k, v in raw_response]
        facts = read_headers(request_headers, response_headers, self.redactor, index, self.jwts)
        served_from: ServedFrom = "unknown"
        signal = ""
        if status is not None and facts.server_date is not None:
            # A shared cache on the way (Varnish, a CDN) answers with the origin's Date and says how long
            # it held the answer in Age (RFC 9111 5.1): only the age beyond that is the browser's own.
            shared = _age_header(response_headers)
            age = (started - facts.server_date).total_seconds()
            if age - shared > STALE_DATE_S:
                served_from, signal = (
                    "disk-cache",
                    f"webkitgtk heuristic: Date {age:.0f} s older than the request"
                    + (f", {age - shared:.0f} s beyond its Age" if shared else ""),
                )
            elif shared and age > STALE_DATE_S:
                served_from = "network"
                signal = f"webkitgtk heuristic: Date {age:.0f} s old, as its Age ({shared:.0f} s) says"
            else:
                served_from, signal = "network", "webkitgtk heuristic: Date as fresh as the request"
        return Exchange(
            id=index,
            method=method,
            url=self.url(url),
            is_navigation=bool(item.get("main")),
            page=int(item.get("page", 0)),
            request_headers=self.request_headers(request_headers),
            status=status,
            response_headers=self.response_headers(response_headers),
            served_from=served_from,
            served_from_signal=signal,
            started_at=started,
            authorization=facts.authorization,
            challenges=facts.challenges,
            proxy_challenges=facts.proxy_challenges,
            cookies_sent=facts.cookies_sent,
            server_date=facts.server_date,
        )

    # -- state ------------------------------------------------------------------------------
    def cookie(self, raw: dict[str, Any]) -> CookieRecord:
        return snapshots.cookie_record(raw, self.redactor)

    def local(self, items: dict[str, Any]) -> dict[str, str]:
        return snapshots.stored_values(items, self.redactor)

    def state_jwts(
        self, raw_cookies: list[dict[str, Any]], storage: dict[str, dict[str, str]], when: str
    ) -> None:
        places = [(str(cookie.get("value", "")), f"cookie {cookie['name']}{when}") for cookie in raw_cookies]
        for origin, items in storage.items():
            places += [(str(value), f"localStorage {key} ({origin}){when}") for key, value in items.items()]
        for text, where in places:
            self.jwts.extend(decode_all(text, found_in=where, redactor=self.redactor))


def _age_header(headers: list[Header]) -> float:
    """Seconds a shared cache says it held the response (its Age header; 0 without a valid one)."""
    value = (header_value(headers, "age") or "").strip()
    return float(value) if value.isdigit() else 0.0


def read_cookie_db(data_dir: Path) -> list[dict[str, Any]]:
    """Persistent cookies of a shell profile (libsoup's moz_cookies table), in WebDriver's shape."""
    path = data_dir / "cookies.sqlite"
    if not path.is_file():
        return []
    # Read a copy: the database may be open in a browser of another lane.
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "cookies.sqlite"
        shutil.copyfile(path, copy)
        try:
            with sqlite3.connect(copy) as db:
                rows = db.execute(
                    "SELECT name, value, host, path, expiry, isSecure, isHttpOnly, sameSite FROM moz_cookies"
                ).fetchall()
        except sqlite3.Error:
            return []
    same_site = {0: "None", 1: "Lax", 2: "Strict"}
    return [
        {
            "name": name,
            "value": value,
            "domain": host,
            "path": cookie_path,
            "expiry": expiry,
            "secure": bool(secure),
            "httpOnly": bool(http_only),
            "sameSite": same_site.get(int(site or 0), "None"),
        }
        for name, value, host, cookie_path, expiry, secure, http_only, site in rows
    ]


def merge_cookies(*jars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for jar in jars:
        for cookie in jar:
            domain = str(cookie.get("domain", "")).lstrip(".")
            merged[(str(cookie["name"]), domain, str(cookie.get("path", "/")))] = cookie
    return list(merged.values())


def after_snapshot(
    builder: EvidenceBuilder, raw_cookies: list[dict[str, Any]], page: dict[str, Any]
) -> StateSnapshot:
    storage: list[StorageArea] = []
    if page.get("origin"):
        storage.append(
            StorageArea(
                origin=str(page["origin"]),
                local=builder.local(page.get("local") or {}),
                session=builder.local(page.get("session") or {}),
            )
        )
    workers, entries = snapshots.page_state_records(page, builder.response_headers, builder.url)
    notes = list(page.get("errors", []))
    if not page:
        notes.append("no page was left on the site's origin: storage, service workers and Cache API not read")
    notes.append("cookies: the profile's database (persistent) and WebDriver's view of the last page")
    return StateSnapshot(
        taken="after",
        cookies=[builder.cookie(c) for c in raw_cookies],
        storage=storage,
        service_workers=workers,
        cache_storage=entries,
        note="; ".join(notes),
    )
