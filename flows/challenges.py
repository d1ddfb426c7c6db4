"""HTTP challenges nobody will answer, answered "no" so the page sees the 401 (Chromium).

A page's `fetch()` that gets `401` with `WWW-Authenticate: Basic` (or Digest) makes Chromium ask its
login delegate for credentials. Without `http_credentials` Playwright never enables CDP's `Fetch`
domain (crNetworkManager `_updateProtocolRequestInterception`), so nobody answers and the request,
the page's promise and the `page.evaluate` waiting on it, hang forever; CDP emits no response event
for it either (measured: Chromium 156, Playwright 1.64, httpbin and nginx `auth_basic`). Firefox
hands the 401 to the page.

The cure is the answer Playwright gives after a failed attempt (`_onAuthRequired`): `CancelAuth`,
which delivers the 401 and its challenge to the page and to CDP's `Network` events. It is sent from a
CDP session of our own, with `Fetch` paused only for the requests named here, at the request stage
(auth events come only for requests paused there). Playwright's own interception also disables the
HTTP cache (`Network.setCacheDisabled`); this session never does: a response of a paused URL was
still served from the disk cache when measured.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from playwright.sync_api import CDPSession, Page
from playwright.sync_api import Error as PlaywrightError


def url_pattern(url: str) -> str:
    """A CDP `Fetch` pattern for `url` with any query (`*` and `?` are wildcards, `\\` escapes)."""
    base = urlunsplit(urlsplit(url)._replace(query="", fragment=""))
    escaped = base.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")
    return escaped + "*"


def cancel_unanswerable_challenges(page: Page, urls: list[str]) -> CDPSession | None:
    """Answer auth challenges to requests for `urls` with CancelAuth; None where CDP is not there.

    Only for contexts without `http_credentials` (Playwright answers those itself, and a second
    handler would race it).
    """
    try:
        session = page.context.new_cdp_session(page)
    except PlaywrightError:
        return None  # not Chromium (or a remote browser without CDP): the engine hands 401s to the page

    def paused(event: dict[str, object]) -> None:
        try:
            session.send("Fetch.continueRequest", {"requestId": event["requestId"]})
        except PlaywrightError:
            pass  # the page or its request went away meanwhile: nothing left to release

    def auth_required(event: dict[str, object]) -> None:
        try:
            session.send(
                "Fetch.continueWithAuth",
                {"requestId": event["requestId"], "authChallengeResponse": {"response": "CancelAuth"}},
            )
        except PlaywrightError:
            pass  # as above

    session.on("Fetch.requestPaused", paused)
    session.on("Fetch.authRequired", auth_required)
    patterns = [{"urlPattern": url_pattern(url), "requestStage": "Request"} for url in dict.fromkeys(urls)]
    try:
        session.send("Fetch.enable", {"handleAuthRequests": True, "patterns": patterns})
    except PlaywrightError:
        return None
    return session
