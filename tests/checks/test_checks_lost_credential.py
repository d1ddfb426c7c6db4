"""A credential sent in the scheme the server asks for, which the server says never arrived: something in
front of the application (a reverse proxy, the app server) removed it. Shapes measured on nginx
`proxy_set_header Authorization ""` in front of Django REST framework's TokenAuthentication."""

from __future__ import annotations

from loginprobe.evidence import Challenge, SiteEvidence
from tests.checks.check_helpers import findings_of, verdict_of
from tests.evidence_factory import APP, TOKEN_FP, api_call, auth, challenge, make_run, make_site

NOT_PROVIDED = '{"detail":"Authentication credentials were not provided."}'


def _site(scheme: str, offered: list[Challenge], body: str) -> SiteEvidence:
    runs = []
    for engine in ("chromium", "firefox"):
        sent = auth(scheme, None, TOKEN_FP)
        exchanges = api_call(engine=engine, status=401, authorization=sent, challenges=offered, body=body)
        runs.append(make_run(exchanges, engine=engine, flow="bearer", protected_url=f"{APP}/api/me"))
    return make_site(*runs)


def test_a_token_the_server_says_was_not_provided_was_stripped_on_the_way() -> None:
    # Given `Authorization: Token ...` sent, and DRF answering 401 `Token` "credentials were not provided"
    ev = _site("Token", [challenge("Token")], NOT_PROVIDED)
    # Then the header was lost between the browser and the application, in both engines
    verdict = verdict_of(ev)
    assert verdict.primary == "proxy-interference", verdict.summary
    assert verdict.confidence == 0.95
    assert "never reached the application" in verdict.summary
    assert "Authentication credentials were not provided." in verdict.summary
    assert set(verdict.engines_failing) == {"chromium", "firefox"}


def test_another_scheme_than_the_one_asked_for_is_not_a_lost_header() -> None:
    # Given `Bearer` sent where DRF asks for `Token`: DRF ignores it and says nothing was provided
    ev = _site("Bearer", [challenge("Token")], NOT_PROVIDED)
    assert findings_of("credential_lost_on_the_way", ev) == []
    assert verdict_of(ev).primary == "wrong-auth-scheme"


def test_a_refused_token_is_not_a_lost_header() -> None:
    ev = _site("Token", [challenge("Token")], '{"detail":"Invalid token."}')
    assert findings_of("credential_lost_on_the_way", ev) == []
    assert verdict_of(ev).primary != "proxy-interference"


def test_the_stock_authorization_required_page_says_nothing_about_what_arrived() -> None:
    # nginx's and Apache's own 401 page is titled "Authorization Required" whatever was sent
    page = "401 Authorization Required nginx/1.22.1"
    ev = _site("Basic", [challenge("Basic", realm="api")], page)
    assert findings_of("credential_lost_on_the_way", ev) == []
