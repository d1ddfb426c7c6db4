"""Realms, read from flows/realm.py's probes (issue 10 item 3): credentials refused at the URL but accepted by
another realm of the origin are wrong-url; accepted by the same realm, insufficient-permissions."""

from __future__ import annotations

from loginprobe.evidence import REALM_PROBE, Challenge, Exchange, RunEvidence
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import APP, auth, challenge, chromium_http_auth, make_exchange, make_site

ADMIN = challenge("Basic", realm="admin", charset="UTF-8")
STAFF = challenge("Basic", realm="staff", charset="UTF-8")


def probe(id: int, url: str, status: int, *, with_credentials: bool, offered: list | None = None) -> Exchange:
    ex = make_exchange(
        id,
        url,
        status=status,
        is_navigation=False,
        resource_type=REALM_PROBE,
        authorization=auth("Basic") if with_credentials else None,
        challenges=offered or [],
    )
    return ex


def refused_with_probes(accepted: bool, here: Challenge = ADMIN) -> RunEvidence:
    run = chromium_http_auth(url=f"{APP}/staff/admin/", offered=[here])
    probes = [
        probe(1, f"{APP}/staff/", 401, with_credentials=False, offered=[STAFF]),
        probe(
            2,
            f"{APP}/staff/",
            200 if accepted else 401,
            with_credentials=True,
            offered=[] if accepted else [STAFF],
        ),
        probe(3, f"{APP}/", 200, with_credentials=False),
    ]
    return run.model_copy(update={"exchanges": [*run.exchanges, *probes]})


def test_another_realm_accepting_the_credentials_is_wrong_url() -> None:
    verdict = verdict_of(make_site(refused_with_probes(accepted=True)))
    assert verdict.primary == "wrong-url"
    assert 'the realm "admin"' in verdict.summary and 'realm "staff"' in verdict.summary
    assert f"{APP}/staff/" in verdict.next_step
    assert "invalid-credentials" not in verdict.contributing


def test_control_refused_everywhere_stays_invalid_credentials() -> None:
    ev = make_site(refused_with_probes(accepted=False))
    assert findings_of("wrong_realm", ev) == []
    assert verdict_of(ev).primary == "invalid-credentials"


def test_control_no_probes_no_finding() -> None:
    ev = make_site(chromium_http_auth(url=f"{APP}/staff/admin/", offered=[ADMIN]))
    assert findings_of("wrong_realm", ev) == []


def test_the_same_realm_accepting_the_credentials_is_insufficient_permissions() -> None:
    # Given a 401 in the realm "staff" whose other path accepted the same credentials (Apache's
    # `Require user bob` inside a `Require valid-user` area answers alice with the challenge again)
    ev = make_site(refused_with_probes(accepted=True, here=STAFF))
    # Then the password is right and the user is not allowed there: not a URL in another realm
    verdict = verdict_of(ev)
    assert verdict.primary == "insufficient-permissions"
    assert findings_of("wrong_realm", ev) == []
    assert f"{APP}/staff/" in verdict.summary and 'realm "staff"' in verdict.summary
    assert "invalid-credentials" not in verdict.contributing


def test_same_realm_name_under_another_scheme_is_another_realm() -> None:
    ev = make_site(refused_with_probes(accepted=True, here=challenge("Digest", realm="staff", nonce="n")))
    assert findings_of("refused_in_own_realm", ev) == []
    assert verdict_of(ev).primary == "wrong-url"


def test_control_same_realm_refusing_everywhere_is_invalid_credentials() -> None:
    ev = make_site(refused_with_probes(accepted=False, here=STAFF))
    assert findings_of("refused_in_own_realm", ev) == []
    assert verdict_of(ev).primary == "invalid-credentials"
