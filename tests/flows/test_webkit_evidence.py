"""WebKitGTK's cache-origin heuristic (no engine flag): a Date older than the request means the browser's
own HTTP cache, unless a shared cache's Age says it held the answer that long (Varnish, a CDN)."""

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
