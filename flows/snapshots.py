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

# What only a page on the origin can read; the same script for every engine (WebDriver runs it as an
# async script, flows/webkit_page.py).
PAGE_STATE_JS = """async () => {
  const out = {origin: location.origin, url: location.href, sw: [], caches: [], local: {}, session: {},
               errors: []};
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
  for (const [area, store] of [['local', () => localStorage], ['session', () => sessionStorage]]) {
    try {
      const s = store();
      for (let i = 0; i < s.length; i++) { const k = s.key(i); out[area][k] = s.getItem(k); }
    }
    catch (e) { out.errors.push(area + 'Storage: ' + e); }
  }
  return out;
}"""


def cookie_record(raw: dict[str, Any], redactor: Redactor) -> CookieRecord:
    """One cookie, its value fingerprinted: Playwright's storage-state shape (`expires`, -1 for a session
    cookie) or WebDriver's (`expiry`, absent for a session cookie)."""
    expires = raw.get("expires", raw.get("expiry"))
    same_site = raw.get("sameSite")
    return CookieRecord(
        name=str(raw["name"]),
        value_fingerprint=redactor.cookie(str(raw["name"]), str(raw.get("value", ""))),
        domain=str(raw.get("domain", "")),
        path=str(raw.get("path", "/")),
        expires=None if expires in (-1, None) else float(expires),
        http_only=bool(raw.get("httpOnly")),
        secure=bool(raw.get("secure")),
        same_site=str(same_site) if same_site else None,
    )


def stored_values(items: dict[str, Any], redactor: Redactor) -> dict[str, str]:
    """A storage area's values as fingerprints (long ones are also searched for in free text)."""
    return {str(k): redactor.add(str(v), searchable=len(str(v)) >= 8) for k, v in items.items()}


def page_state_records(
    data: dict[str, Any],
    clean_headers: Callable[[list[Header]], list[Header]],
    clean_url: Callable[[str], str],
) -> tuple[list[ServiceWorkerRecord], list[CacheStorageEntry]]:
    """The service workers and Cache API entries of one page's PAGE_STATE_JS answer (any engine)."""
    workers = [
        ServiceWorkerRecord(scope=sw["scope"], script_url=sw["script"], state=sw.get("state"))
        for sw in data.get("sw", [])
    ]
    entries = [
        CacheStorageEntry(
            cache_name=entry["cache"],
            url=clean_url(entry["url"]),
            status=entry.get("status"),
            headers=clean_headers([(str(k), str(v)) for k, v in entry.get("headers", [])]),
        )
        for entry in data.get("caches", [])
    ]
    return workers, entries


def read_jar(
    context: BrowserContext, taken: Literal["before", "after"], redactor: Redactor
) -> tuple[StateSnapshot, dict[str, Any] | None]:
    """The jar's cookies and localStorage, fingerprinted, and the raw state (kept in memory only, for
    transplanting it into a differential run)."""
    try:
        state = context.storage_state()
    except PlaywrightError as exc:
        return StateSnapshot(taken=taken, note=f"storage state unreadable: {str(exc).splitlines()[0]}"), None
    cookies = [cookie_record(dict(cookie), redactor) for cookie in state.get("cookies", [])]
    areas = []
    for origin in state.get("origins", []):
        items = {item["name"]: item.get("value", "") for item in origin.get("localStorage", [])}
        areas.append(StorageArea(origin=origin["origin"], local=stored_values(items, redactor)))
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
        page_workers, page_entries = page_state_records(data, clean_headers, clean_url)
        workers.extend(page_workers)
        entries.extend(page_entries)
        sessions[data["origin"]] = stored_values(data["session"], redactor)
        notes.extend(data["errors"])
    if not seen:
        notes.append("no page was left on the site's origin: service workers and Cache API not read")
    return workers, entries, sessions, notes
