"""Snapshots of a context's state: the cookie jar and localStorage (Playwright's storage state), and
what only a page on the site's origin can read (service workers, the Cache API, sessionStorage).
Values become fingerprints here, before any model is built."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError

from loginprobe.evidence import (
    CacheStorageEntry,
    CookieRecord,
    Header,
    ServiceWorkerRecord,
    StateSnapshot,
    StorageArea,
    origin_of,
)
from loginprobe.secrets import Redactor

INITIAL_STORAGE_JS = """(() => {
  try {
    if (window.top !== window || !window.__loginprobeStorage) return;
    const items = {};
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      items[key] = localStorage.getItem(key);
    }
    window.__loginprobeStorage(location.origin, items);
  } catch (e) { /* opaque origins and blocked storage have nothing to report */ }
})();"""

PAGE_STATE_JS = """async () => {
  const out = {origin: location.origin, sw: [], caches: [], session: {}, errors: []};
  try {
    for (const r of await navigator.serviceWorker.getRegistrations()) {
      const w = r.active || r.waiting || r.installing;
      out.sw.push({scope: r.scope, script: w ? w.scriptURL : '', state: w ? w.state : null});
    }
  } catch (e) { out.errors.push('service workers: ' + e); }
  try {
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const req of await cache.keys()) {
        const res = await cache.match(req);
        out.caches.push({cache: name, url: req.url, status: res ? res.status : null,
                         headers: res ? [...res.headers] : []});
      }
    }
  } catch (e) { out.errors.push('Cache API: ' + e); }
  try {
    for (let i = 0; i < sessionStorage.length; i++) {
      const k = sessionStorage.key(i); out.session[k] = sessionStorage.getItem(k);
    }
  } catch (e) { out.errors.push('sessionStorage: ' + e); }
  return out;
}"""


def read_jar(
    context: BrowserContext, taken: Literal["before", "after"], redactor: Redactor
) -> tuple[StateSnapshot, dict[str, Any] | None]:
    """The jar's cookies and localStorage, fingerprinted, and the raw state (kept in memory only, for
    transplanting it into a differential run)."""
    try:
        state = context.storage_state()
    except PlaywrightError as exc:
        return StateSnapshot(taken=taken, note=f"storage state unreadable: {str(exc).splitlines()[0]}"), None
    cookies = []
    for cookie in state.get("cookies", []):
        value = cookie.get("value", "")
        cookies.append(
            CookieRecord(
                name=cookie["name"],
                value_fingerprint=redactor.cookie(cookie["name"], value),
                domain=cookie.get("domain", ""),
                path=cookie.get("path", "/"),
                expires=None if cookie.get("expires", -1) in (-1, None) else float(cookie["expires"]),
                http_only=bool(cookie.get("httpOnly")),
                secure=bool(cookie.get("secure")),
                same_site=cookie.get("sameSite"),
            )
        )
    areas = []
    for origin in state.get("origins", []):
        local = {}
        for item in origin.get("localStorage", []):
            value = str(item.get("value", ""))
            local[item["name"]] = redactor.add(value, searchable=len(value) >= 8) or ""
        areas.append(StorageArea(origin=origin["origin"], local=local))
    return StateSnapshot(taken=taken, cookies=cookies, storage=areas), dict(state)


def read_pages(
    pages: list[Page],
    site_origins: list[str],
    redactor: Redactor,
    clean_headers: Callable[[list[Header]], list[Header]],
    clean_url: Callable[[str], str],
) -> tuple[list[ServiceWorkerRecord], list[CacheStorageEntry], dict[str, dict[str, str]], list[str]]:
    """Service workers, Cache API and sessionStorage, read from pages on the site's origins."""
    workers: list[ServiceWorkerRecord] = []
    entries: list[CacheStorageEntry] = []
    sessions: dict[str, dict[str, str]] = {}
    notes: list[str] = []
    seen: set[str] = set()
    for page in pages:
        try:
            if page.is_closed() or origin_of(page.url) not in site_origins:
                continue
            if origin_of(page.url) in seen:
                continue
            seen.add(origin_of(page.url))
            data = page.evaluate(PAGE_STATE_JS)
        except PlaywrightError as exc:
            notes.append(f"page state of {redactor.text(page.url)} unreadable: {str(exc).splitlines()[0]}")
            continue
        for sw in data["sw"]:
            workers.append(ServiceWorkerRecord(scope=sw["scope"], script_url=sw["script"], state=sw["state"]))
        for entry in data["caches"]:
            entries.append(
                CacheStorageEntry(
                    cache_name=entry["cache"],
                    url=clean_url(entry["url"]),
                    status=entry["status"],
                    headers=clean_headers([(str(k), str(v)) for k, v in entry["headers"]]),
                )
            )
        session = {}
        for key, value in data["session"].items():
            session[key] = redactor.add(str(value), searchable=len(str(value)) >= 8)
        sessions[data["origin"]] = session
        notes.extend(data["errors"])
    if not seen:
        notes.append("no page was left on the site's origin: service workers and Cache API not read")
    return workers, entries, sessions, notes
