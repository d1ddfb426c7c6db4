"""The caching reverse proxy and the forward proxy, over plain HTTP."""

from __future__ import annotations

from loginprobe.lab.server import Lab
from tests.lab.lab_http import fetch, form_post, sign_in


def test_cache_passes_through_and_marks_misses(lab: Lab) -> None:
    reply = fetch(lab.cache_url + "/login")
    assert reply.status == 200 and "type='password'" in reply.text
    assert reply.header("X-Cache") == "MISS" and reply.header("Via") == "1.1 lab-cache"
    assert reply.header("Date") is not None


def test_cache_stores_what_max_age_allows_and_reports_age(lab: Lab) -> None:
    # Given /account's 401 marked cacheable for an hour
    lab.apply(account_cache_control="public, max-age=3600")
    first = fetch(lab.cache_url + "/account")
    second = fetch(lab.cache_url + "/account")
    assert (first.status, first.header("X-Cache")) == (401, "MISS")
    assert (second.status, second.header("X-Cache")) == (401, "HIT")
    assert second.header("Age") == "0" and second.header("Date") == first.header("Date")
    # When the (lab) clock moves on, Age follows
    lab.apply(account_cache_control="public, max-age=3600", clock_offset_s=30)
    assert int(fetch(lab.cache_url + "/account").header("Age") or "-1") >= 29
    # Past max-age the entry is stale: a miss again
    lab.apply(clock_offset_s=3700)
    assert fetch(lab.cache_url + "/account").header("X-Cache") == "MISS"


def test_cache_never_stores_no_store(lab: Lab) -> None:
    for _ in range(2):
        assert fetch(lab.cache_url + "/account").header("X-Cache") == "MISS"


def test_healthy_cache_bypasses_requests_with_cookies(lab: Lab) -> None:
    lab.apply(account_cache_control="public, s-maxage=3600")
    assert fetch(lab.cache_url + "/account").status == 401  # stored
    session = sign_in(lab, base=lab.cache_url)  # POST through the cache, never cached
    mine = fetch(lab.cache_url + "/account", headers={"Cookie": f"session={session}"})
    assert (mine.status, mine.header("X-Cache")) == (200, "MISS")


def test_cache_ignoring_vary_serves_one_visitors_401_to_everyone(lab: Lab) -> None:
    # Given a misconfigured cache and an anonymous visit that stored the 401
    lab.apply(account_cache_control="public, s-maxage=3600", cache_ignore_vary=True)
    assert fetch(lab.cache_url + "/account").status == 401
    # When a signed-in user asks for the same URL
    session = sign_in(lab, base=lab.cache_url)
    mine = fetch(lab.cache_url + "/account", headers={"Cookie": f"session={session}"})
    # Then the cache answers with the stored 401
    assert (mine.status, mine.header("X-Cache")) == (401, "HIT")
    # while the app itself would have said 200
    assert fetch(lab.app_url + "/account", headers={"Cookie": f"session={session}"}).status == 200


def test_cache_keeps_repeated_headers(lab: Lab) -> None:
    reply = form_post(lab.cache_url + "/login", {"username": lab.username, "password": lab.password})
    assert reply.status == 303 and reply.header("Location") == "/account" and reply.cookie("session")


def test_forward_proxy_passes_requests_through(lab: Lab) -> None:
    token = lab.mint_jwt(ttl_s=600)
    reply = fetch(lab.app_url + "/api/me", headers={"Authorization": f"Bearer {token}"}, proxy=lab.proxy_url)
    assert reply.status == 200 and reply.header("Via") == "1.1 lab-proxy"
    assert fetch(lab.idp_url + "/.well-known/openid-configuration", proxy=lab.proxy_url).status == 200


def test_forward_proxy_strips_authorization(lab: Lab) -> None:
    lab.apply(proxy_mode="strip-authorization")
    token = lab.mint_jwt(ttl_s=600)
    reply = fetch(lab.app_url + "/api/me", headers={"Authorization": f"Bearer {token}"}, proxy=lab.proxy_url)
    assert reply.status == 401 and reply.header("WWW-Authenticate") == 'Bearer realm="lab"'
    assert reply.header("Via") == "1.1 lab-proxy"


def test_forward_proxy_requiring_authentication(lab: Lab) -> None:
    import base64

    lab.apply(proxy_mode="require-auth")
    refused = fetch(lab.app_url + "/", proxy=lab.proxy_url)
    assert refused.status == 407 and refused.header("Proxy-Authenticate") == 'Basic realm="lab-proxy"'
    assert refused.header("Date") is not None
    credentials = base64.b64encode(f"{lab.username}:{lab.password}".encode()).decode()
    allowed = fetch(
        lab.app_url + "/", headers={"Proxy-Authorization": f"Basic {credentials}"}, proxy=lab.proxy_url
    )
    assert allowed.status == 200


def test_forward_proxy_refuses_tunnels_and_foreign_hosts(lab: Lab) -> None:
    import http.client

    port = int(lab.proxy_url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("CONNECT", f"127.0.0.1:{lab.app_port}")
        response = connection.getresponse()
        response.read()
        assert response.status == 501
    finally:
        connection.close()
    assert fetch("http://example.com/", proxy=lab.proxy_url).status == 403
    assert fetch(lab.proxy_url + "/").status == 400
