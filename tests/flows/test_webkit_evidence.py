"""WebKitGTK's evidence from the shell's resource log: the cache-origin heuristic (no engine flag: a Date
older than the request means the browser's own HTTP cache, unless a shared cache's Age says it held the
answer that long) and the page each fetch came from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from loginprobe.flows.webkit_evidence import EvidenceBuilder
from loginprobe.secrets import Redactor

REQUESTED = datetime(2026, 12, 5, 4, 0, 0, tzinfo=UTC)


def served_from(date_age_s: int, age_header: str | None) -> tuple[str, str]:
    """How the builder reads a 200 whose Date is `date_age_s` older than its request."""
    headers = [("Date", format_datetime(REQUESTED - timedelta(seconds=date_age_s), usegmt=True))]
    if age_header is not None:
        headers.append(("Age", age_header))
    exchange = EvidenceBuilder(Redactor())._exchange(
        0, "GET", "http://127.0.0.1:8000/api/token/", [], 200, headers, {}, REQUESTED
    )
    return exchange.served_from, exchange.served_from_signal


@pytest.mark.parametrize(
    ("date_age_s", "age_header", "expected"),
    [
        (0, None, "network"),  # a fresh answer from the origin
        (48, None, "disk-cache"),  # the browser replayed what it kept
        (48, "47", "network"),  # Varnish's hit: its Age accounts for the old Date
        (48, "0", "disk-cache"),  # an Age that accounts for nothing
        (120, "47", "disk-cache"),  # a shared-cache answer the browser then kept for over a minute
        (48, "soon", "disk-cache"),  # an Age that is no number says nothing
    ],
)
def test_a_shared_caches_age_is_not_the_browsers_cache(
    date_age_s: int, age_header: str | None, expected: str
) -> None:
    found, signal = served_from(date_age_s, age_header)
    assert found == expected, signal
    assert signal.startswith("webkitgtk heuristic")


def test_a_fetch_is_recorded_from_the_document_its_page_showed() -> None:
    # The shell logs no frame: a fetch/XHR or subresource comes from the page's last main document, as
    # Playwright's frame URL says, so an app page's beacon to another site is told from a login API.
    app, beacon = "http://127.0.0.1:5000/app?api=/admin", "http://localhost:5002/collect"
    t = REQUESTED.timestamp()
    request = {"event": "request", "headers": [], "t": t, "page": 0}
    events = [
        {**request, "id": 1, "url": app, "method": "GET", "main": True},
        {"event": "finished", "id": 1, "status": 200, "headers": [], "t": t},
        {**request, "id": 2, "url": beacon, "method": "POST"},
        {"event": "finished", "id": 2, "status": 401, "headers": [], "t": t},
    ]
    observed = [{"kind": "fetch", "url": beacon, "method": "POST", "status": 401, "headers": []}]
    document, fetch = EvidenceBuilder(Redactor()).exchanges(events, observed)
    assert (document.resource_type, document.frame_url) == ("document", None)
    assert (fetch.resource_type, fetch.frame_url) == ("fetch", app)
