"""A shared cache that keeps 401s and says nothing about it (nginx `proxy_cache_valid 401` without an
X-Cache-Status header: a fresh Date, no Age): the cache probe (flows/realm.py) asks for the protected URL
under a query parameter no cache has stored, with the same credential. Shapes measured on nginx 1.22."""

from __future__ import annotations

from loginprobe.evidence import CACHE_PROBE, Exchange, SiteEvidence
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import (
    APP,
    auth,
    basic_login,
    challenge,
    make_exchange,
    make_run,
    make_site,
)

URL = f"{APP}/api/items.json"
PROBED = f"{URL}?loginprobe-nocache=0123456789ab"


def _probe(status: int, index: int, url: str = PROBED) -> Exchange:
    offered = [challenge("Basic", realm="nginx api")] if status == 401 else []
    return make_exchange(
        index, url, status=status, authorization=auth("Basic"), challenges=offered,
        is_navigation=False, resource_type=CACHE_PROBE,
    )  # fmt: skip


def _site(probe_status: int) -> SiteEvidence:
    runs = []
    for engine in ("chromium", "firefox"):
        exchanges = basic_login(
            engine=engine, final_status=401, url=URL, offered=[challenge("Basic", realm="x")]
        )
        # The probe: the URL itself (refused: no cluster node accepts it there), then the unstored query
        exchanges.append(_probe(401, len(exchanges), URL))
        exchanges.append(_probe(probe_status, len(exchanges)))
        runs.append(make_run(exchanges, engine=engine, flow="basic", protected_url=URL, protected=1))
    return make_site(*runs)


def test_credentials_accepted_where_no_cache_has_a_copy_is_stale_cache() -> None:
    # Given Basic credentials refused at the URL (no cache header anywhere), accepted under a new query
    verdict = verdict_of(_site(200))
    # Then a cache keyed on the URL replays an old 401: stale-cache, above invalid-credentials
    assert verdict.primary == "stale-cache", verdict.summary
    assert verdict.confidence >= 0.9
    assert "no cache had stored" in verdict.summary and PROBED in verdict.summary
    assert set(verdict.engines_failing) == {"chromium", "firefox"}


def test_credentials_refused_there_too_are_no_cache() -> None:
    ev = _site(401)
    assert findings_of("uncached_url_accepts", ev) == []
    assert verdict_of(ev).primary == "invalid-credentials"


def test_a_server_that_accepted_the_credential_at_that_url_is_flapping_not_a_cache() -> None:
    # Given one engine signed in at the URL itself (from the network) and the other refused there
    signed_in = basic_login(engine="chromium", url=URL)
    passed = make_run(signed_in, engine="chromium", flow="basic", protected_url=URL)
    refused = _site(200).runs[1]
    # Then the probe's success says nothing about a stored 401
    assert findings_of("uncached_url_accepts", make_site(passed, refused)) == []


def test_a_url_that_accepts_the_credential_itself_is_no_cache() -> None:
    # Given the browser refused, then the probe's request for the same URL with the same credential
    # accepted (round-robin nodes, one broken): the probe stopped there
    runs = []
    for engine in ("chromium", "firefox"):
        exchanges = basic_login(engine=engine, final_status=401, url=URL)
        exchanges.append(_probe(200, len(exchanges), URL))
        runs.append(make_run(exchanges, engine=engine, flow="basic", protected_url=URL, protected=1))
    assert findings_of("uncached_url_accepts", make_site(*runs)) == []
    # and the same credential at the same URL refused and accepted is the flapping it is
    assert verdict_of(make_site(*runs)).primary == "server-misconfiguration"
