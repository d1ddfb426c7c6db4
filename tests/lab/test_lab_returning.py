"""The lab's stale state as real frameworks keep it, over plain HTTP: what a returning browser holds
(a session cookie, a stored token, a cached token document or app config, a relying-party session)
and what the server does with it after time passed, a key rotated or tokens were revoked."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from loginprobe.lab.server import Lab
from tests.lab.lab_http import Reply, fetch, form_post, sign_in


def cookie(session: str) -> dict[str, str]:
    return {"Cookie": f"session={session}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def bearer_error(reply: Reply) -> str:
    return reply.header("WWW-Authenticate") or ""


# -- the login page and the session cookie ---------------------------------------------------------


def test_login_page_shows_the_form_to_a_signed_in_user_and_signing_in_again_replaces_the_cookie(
    lab: Lab,
) -> None:
    # Given a user who is signed in (as Django's LoginView, the page still shows the form)
    old = sign_in(lab)
    login = fetch(lab.app_url + "/login", headers=cookie(old))
    assert login.status == 200 and "type='password'" in login.text
    # When the signing key rotates, the old cookie is refused everywhere
    lab.apply(session_secret_rotated=True)
    assert fetch(lab.app_url + "/api/session", headers=cookie(old)).status == 401
    assert fetch(lab.app_url + "/account", headers=cookie(old)).status == 401
    # Then signing in again through that form heals it
    new = sign_in(lab)
    assert new != old
    assert fetch(lab.app_url + "/api/session", headers=cookie(new)).json() == {"user": "alice"}


def test_app_pages_redirect_a_browser_without_cookies_and_show_any_cookie_the_page(lab: Lab) -> None:
    # As Next.js middleware does: the cookie's presence decides the page, the API its validity
    logins = {"/dashboard": "/login?next=/dashboard", "/portal/": "/login?next=/portal/"}
    logins |= {"/rp/": "/oidc/start?next=/rp/", "/sw-app/": "/sw-app/login"}
    for path, login in logins.items():
        bare = fetch(lab.app_url + path)
        assert (bare.status, bare.header("Location")) == (302, login), path
        assert fetch(lab.app_url + path, headers=cookie("not-a-valid-session")).status == 200, path


def test_dashboard_calls_the_session_api_and_shows_no_form_itself(lab: Lab) -> None:
    dashboard = fetch(lab.app_url + "/dashboard", headers=cookie(sign_in(lab)))
    assert dashboard.status == 200 and dashboard.header("Cache-Control") == "no-store"
    assert 'fetch("/api/session"' in dashboard.text and "type='password'" not in dashboard.text
    refused = fetch(lab.app_url + "/api/session")
    assert refused.status == 401
    assert refused.header("WWW-Authenticate") == 'Cookie realm="lab" form-action="/login"'
    assert refused.header("Cache-Control") == "no-store"
    # The login form's `next` brings a new sign-in back to the dashboard
    fields = {"username": lab.username, "password": lab.password, "next": "/dashboard"}
    assert form_post(lab.app_url + "/login", fields).header("Location") == "/dashboard"


# -- a single-page app's token in localStorage -----------------------------------------------------


def test_spa_login_page_always_shows_its_form_and_the_app_reads_the_stored_token(lab: Lab) -> None:
    login = fetch(lab.app_url + "/spa/login").text
    assert '<form id="login">' in login  # not hidden, whatever localStorage holds
    assert "location.replace" not in login
    app = fetch(lab.app_url + "/spa/").text
    assert 'localStorage.getItem("access_token")' in app and 'fetch("/api/me"' in app


def test_a_stored_token_expires_by_the_server_clock(lab: Lab) -> None:
    token = lab.mint_jwt(ttl_s=900)
    assert fetch(lab.app_url + "/api/me", headers=bearer(token)).status == 200
    lab.apply(clock_offset_s=3600)
    reply = fetch(lab.app_url + "/api/me", headers=bearer(token))
    assert reply.status == 401 and "the access token expired at" in bearer_error(reply)


# -- revoked tokens and the token document ---------------------------------------------------------


def test_tokens_revoked_refuses_every_token_issued_before_and_accepts_new_ones(lab: Lab) -> None:
    old = lab.mint_jwt(ttl_s=900)
    lab.apply(tokens_revoked=True)
    reply = fetch(lab.app_url + "/api/me", headers=bearer(old))
    assert reply.status == 401
    assert 'error="invalid_token"' in bearer_error(reply) and "revoked" in bearer_error(reply)
    new = lab.mint_jwt(ttl_s=900)
    assert fetch(lab.app_url + "/api/me", headers=bearer(new)).status == 200
    # Another apply without the switch: nothing is revoked any more
    lab.apply()
    assert fetch(lab.app_url + "/api/me", headers=bearer(old)).status == 200


def test_portal_token_document_needs_the_session_and_carries_the_cache_control_switch(lab: Lab) -> None:
    assert fetch(lab.app_url + "/portal/token").status == 401
    session = sign_in(lab)
    document = fetch(lab.app_url + "/portal/token", headers=cookie(session))
    assert document.status == 200 and document.header("Cache-Control") == "no-store"
    token = document.json()["access_token"]
    assert token in lab.secrets()
    assert fetch(lab.app_url + "/api/me", headers=bearer(token)).status == 200
    lab.apply(token_document_cache_control="private, max-age=3600")
    kept = fetch(lab.app_url + "/portal/token", headers=cookie(session))
    assert kept.header("Cache-Control") == "private, max-age=3600"
    page = fetch(lab.app_url + "/portal/", headers=cookie(session)).text
    assert 'fetch("/portal/token"' in page and 'fetch("/api/me"' in page


def test_shared_cache_keyed_on_the_cookie_serves_a_revoked_token_document(lab: Lab) -> None:
    # Given a Varnish-like cache that keys on the Cookie header and forces a TTL
    switches = {"shared_cache_cookie_ttl_s": 3600}
    lab.apply(**switches)
    session = sign_in(lab, base=lab.cache_url)  # the POST passes through
    first = fetch(lab.cache_url + "/portal/token", headers=cookie(session))
    second = fetch(lab.cache_url + "/portal/token", headers=cookie(session))
    assert (first.header("X-Cache"), second.header("X-Cache")) == ("MISS", "HIT")
    # The origin said no-store; the cache kept it anyway and says so (Age, X-Cache, Via)
    assert second.header("Cache-Control") == "no-store" and second.header("Age") == "0"
    assert "lab-cache" in (second.header("Via") or "")
    token = second.json()["access_token"]
    assert token == first.json()["access_token"]
    # Another Cookie header is another cache entry; Authorization requests always pass
    other = fetch(lab.cache_url + "/portal/token", headers=cookie(sign_in(lab)))
    assert other.header("X-Cache") == "MISS" and other.json()["access_token"] != token
    api = [fetch(lab.cache_url + "/api/me", headers={**bearer(token), **cookie(session)}) for _ in range(2)]
    assert [r.header("X-Cache") for r in api] == ["MISS", "MISS"]
    # When the tokens are revoked, the cache still hands out the old one, which the API refuses
    lab.apply(tokens_revoked=True, **switches)
    stale = fetch(lab.cache_url + "/portal/token", headers=cookie(session))
    assert stale.header("X-Cache") == "HIT" and stale.json()["access_token"] == token
    refused = fetch(lab.cache_url + "/api/me", headers=bearer(token))
    assert refused.status == 401 and "revoked" in bearer_error(refused)
    # A new sign-in is a new Cookie header: a miss, and a token that works
    fresh = fetch(lab.cache_url + "/portal/token", headers=cookie(sign_in(lab, base=lab.cache_url)))
    assert fresh.header("X-Cache") == "MISS"
    assert fetch(lab.cache_url + "/api/me", headers=bearer(fresh.json()["access_token"])).status == 200


def test_shared_cache_keeps_only_200s_without_set_cookie(lab: Lab) -> None:
    lab.apply(shared_cache_cookie_ttl_s=3600)
    assert [fetch(lab.cache_url + "/portal/token").header("X-Cache") for _ in range(2)] == ["MISS", "MISS"]
    assert [fetch(lab.cache_url + "/dashboard").header("X-Cache") for _ in range(2)] == ["MISS", "MISS"]
    assert [fetch(lab.cache_url + "/console/").header("X-Cache") for _ in range(2)] == ["MISS", "HIT"]


# -- an OpenID Connect relying party and the identity provider's session ---------------------------


def oidc_round(lab: Lab, idp_session: str | None) -> tuple[Reply, str | None]:
    """/oidc/start?next=/rp/ -> the IdP (its form, or straight back with a session) -> the callback.
    Returns the callback's reply and the IdP session cookie (the one it set, or the one given)."""
    start = fetch(lab.app_url + "/oidc/start?next=/rp/")
    tx = (start.cookie("oidc_tx") or {})["value"]
    authorize = start.header("Location") or ""
    idp_cookie = {"Cookie": f"idp_session={idp_session}"} if idp_session else {}
    shown = fetch(authorize, headers=idp_cookie)
    if idp_session is None:
        assert shown.status == 200 and "type='password'" in shown.text
        query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
        shown = form_post(
            lab.idp_url + "/authorize", {**query, "username": lab.username, "password": lab.password}
        )
        idp_session = (shown.cookie("idp_session") or {}).get("value")
        assert idp_session
    assert shown.status == 302
    callback = fetch(shown.header("Location") or "", headers={"Cookie": f"oidc_tx={tx}"})
    return callback, idp_session


def test_relying_party_session_outlives_its_access_token_and_the_idp_signs_in_silently(lab: Lab) -> None:
    # Given a sign-in at the identity provider, back at the relying party's page
    callback, idp_session = oidc_round(lab, None)
    assert callback.status == 302 and callback.header("Location") == "/rp/"
    session = (callback.cookie("session") or {})["value"]
    assert fetch(lab.app_url + "/rp/api/profile", headers=cookie(session)).json() == {"sub": "alice"}
    assert "/rp/api/profile" in fetch(lab.app_url + "/rp/", headers=cookie(session)).text
    # When an hour passes, the session lives on and its access token does not
    lab.apply(clock_offset_s=3600)
    assert fetch(lab.app_url + "/account", headers=cookie(session)).status == 200
    expired = fetch(lab.app_url + "/rp/api/profile", headers=cookie(session))
    assert expired.status == 401 and expired.header("Cache-Control") == "no-store"
    assert 'error="invalid_token"' in bearer_error(expired)
    assert "the access token expired at" in bearer_error(expired)
    assert "expired at" in expired.json()["error_description"]
    # Then a new sign-in needs no form: the IdP's session sends the browser straight back
    again, _ = oidc_round(lab, idp_session)
    renewed = (again.cookie("session") or {})["value"]
    assert fetch(lab.app_url + "/rp/api/profile", headers=cookie(renewed)).status == 200


def test_idp_session_cookie_attributes(lab: Lab) -> None:
    start = fetch(lab.app_url + "/oidc/start")
    query = {k: v[0] for k, v in parse_qs(urlsplit(start.header("Location") or "").query).items()}
    fields = {**query, "username": lab.username, "password": lab.password}
    back = form_post(lab.idp_url + "/authorize", fields)
    set_cookie = back.cookie("idp_session")
    assert set_cookie is not None and set_cookie["samesite"] == "Lax" and "httponly" in set_cookie
    assert set_cookie["value"] in lab.secrets()
    # An unknown IdP session is no session: the form again
    unknown = fetch(start.header("Location") or "", headers={"Cookie": "idp_session=x"})
    assert "type='password'" in unknown.text


# -- an app whose API key comes from its own config ------------------------------------------------


def test_console_config_serves_the_current_key_and_a_rotated_key_is_refused_as_revoked(lab: Lab) -> None:
    config = fetch(lab.app_url + "/console/config.json")
    assert config.header("Cache-Control") == "no-cache"
    assert config.json() == {"api_url": "/apikey/data", "key_header": "X-API-Key", "api_key": lab.api_key}
    assert fetch(lab.app_url + "/apikey/data", headers={"X-API-Key": lab.api_key}).status == 200
    # When the key is rotated, the config serves the new one and the old one is refused as revoked
    lab.apply(api_key_rotated=True, app_config_cache_control="max-age=86400")
    rotated = fetch(lab.app_url + "/console/config.json")
    assert rotated.json()["api_key"] == lab.rotated_api_key != lab.api_key
    assert rotated.header("Cache-Control") == "max-age=86400"
    old = fetch(lab.app_url + "/apikey/data", headers={"X-API-Key": lab.api_key})
    assert old.status == 401 and "revoked" in old.json()["error_description"]
    assert fetch(lab.app_url + "/apikey/data", headers={"X-API-Key": lab.rotated_api_key}).status == 200
    assert {lab.api_key, lab.rotated_api_key} <= set(lab.secrets())
    page = fetch(lab.app_url + "/console/").text
    assert 'fetch("/console/config.json")' in page and "type='password'" not in page
