"""HTTP Basic, Digest, the JWT API (RFC 6750 errors), the API key and OpenID Connect, over plain HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import parse_qs, urlsplit

import jwt

from loginprobe.lab.server import Lab
from tests.lab.lab_http import Reply, fetch, form_post, sign_in


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def challenge_params(value: str) -> dict[str, str]:
    return {k: v1 or v2 for k, v1, v2 in re.findall(r'(\w+)=(?:"([^"]*)"|([^,\s]+))', value)}


# -- Basic ------------------------------------------------------------------------------------------


def test_basic_area(lab: Lab) -> None:
    anonymous = fetch(lab.app_url + "/basic/")
    assert anonymous.status == 401
    assert anonymous.header("WWW-Authenticate") == 'Basic realm="lab-basic", charset="UTF-8"'
    assert fetch(lab.app_url + "/basic/", headers=basic(lab.username, "wrong")).status == 401
    good = fetch(lab.app_url + "/basic/", headers=basic(lab.username, lab.password))
    assert good.status == 200 and "alice" in good.text


def test_basic_no_challenge_refuses_even_good_credentials_without_a_challenge(lab: Lab) -> None:
    lab.apply(basic_no_challenge=True)
    for headers in ({}, basic(lab.username, lab.password)):
        reply = fetch(lab.app_url + "/basic/", headers=headers)
        assert reply.status == 401 and reply.header("WWW-Authenticate") is None


def test_basic_requires_bearer(lab: Lab) -> None:
    lab.apply(basic_requires_bearer=True)
    reply = fetch(lab.app_url + "/basic/", headers=basic(lab.username, lab.password))
    assert reply.status == 401 and reply.header("WWW-Authenticate") == 'Bearer realm="lab-basic"'


# -- Digest -----------------------------------------------------------------------------------------


def digest_answer(lab: Lab, challenge: str, password: str, uri: str = "/digest/") -> dict[str, str]:
    """The client side of RFC 7616 §3.4.1 (MD5, qop=auth), computed here independently of the lab."""
    params = challenge_params(challenge)
    md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731
    cnonce, nc = "0a4f113b", "00000001"
    ha1 = md5(f"{lab.username}:{params['realm']}:{password}")
    ha2 = md5(f"GET:{uri}")
    response = md5(f"{ha1}:{params['nonce']}:{nc}:{cnonce}:auth:{ha2}")
    value = (
        f'Digest username="{lab.username}", realm="{params["realm"]}", nonce="{params["nonce"]}", '
        f'uri="{uri}", algorithm=MD5, response="{response}", opaque="{params["opaque"]}", qop=auth, '
        f'nc={nc}, cnonce="{cnonce}"'
    )
    return {"Authorization": value}


def test_digest_area(lab: Lab) -> None:
    first = fetch(lab.app_url + "/digest/")
    challenge = first.header("WWW-Authenticate") or ""
    assert first.status == 401 and challenge.startswith("Digest ")
    params = challenge_params(challenge)
    assert params["realm"] == "lab-digest" and params["qop"] == "auth" and params["algorithm"] == "MD5"
    good = fetch(lab.app_url + "/digest/", headers=digest_answer(lab, challenge, lab.password))
    assert good.status == 200 and "alice" in good.text
    bad = fetch(lab.app_url + "/digest/", headers=digest_answer(lab, challenge, "wrong"))
    assert bad.status == 401


def test_digest_nonce_goes_stale_with_the_clock(lab: Lab) -> None:
    challenge = fetch(lab.app_url + "/digest/").header("WWW-Authenticate") or ""
    lab.apply(clock_offset_s=3600)
    reply = fetch(lab.app_url + "/digest/", headers=digest_answer(lab, challenge, lab.password))
    assert reply.status == 401 and "stale=true" in (reply.header("WWW-Authenticate") or "")


# -- JWT API ----------------------------------------------------------------------------------------


def api_login(lab: Lab, password: str | None = None) -> Reply:
    body = json.dumps({"username": lab.username, "password": password or lab.password})
    return fetch(lab.app_url + "/api/login", "POST", headers={"Content-Type": "application/json"}, body=body)


def assert_bearer_error(reply: Reply, status: int, error: str | None, fragment: str = "") -> dict[str, str]:
    assert reply.status == status, reply.text
    header = reply.header("WWW-Authenticate") or ""
    assert header.startswith("Bearer ")
    params = challenge_params(header)
    assert params["realm"] == "lab"
    assert params.get("error") == error
    assert fragment in params.get("error_description", "")
    return params


def test_api_login_issues_a_jwt_that_opens_api_me(lab: Lab) -> None:
    lab.apply(jwt_ttl_s=120)
    reply = api_login(lab)
    assert reply.status == 200 and reply.header("Cache-Control") == "no-store"
    token = reply.json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == lab.app_url and claims["sub"] == "alice" and claims["aud"] == "lab-api"
    assert claims["exp"] - claims["iat"] == 120 and claims["roles"] == ["user"]
    me = fetch(lab.app_url + "/api/me", headers=bearer(token))
    assert me.status == 200 and me.json()["sub"] == "alice"
    assert api_login(lab, "wrong").status == 401
    assert token in lab.secrets()


def test_api_me_rfc6750_errors(lab: Lab) -> None:
    assert_bearer_error(fetch(lab.app_url + "/api/me"), 401, None)
    assert_bearer_error(fetch(lab.app_url + "/api/me", headers=basic("a", "b")), 401, "invalid_request")
    expired = fetch(lab.app_url + "/api/me", headers=bearer(lab.mint_jwt(ttl_s=-300)))
    assert_bearer_error(expired, 401, "invalid_token", "expired")
    claims = jwt.decode(lab.mint_jwt(ttl_s=600), options={"verify_signature": False})
    forged = jwt.encode(claims, "not-the-lab-key-but-long-enough-for-hs256", algorithm="HS256")
    assert_bearer_error(
        fetch(lab.app_url + "/api/me", headers=bearer(forged)), 401, "invalid_token", "signature"
    )
    early = fetch(lab.app_url + "/api/me", headers=bearer(lab.mint_jwt(ttl_s=900, not_before_s=600)))
    assert_bearer_error(early, 401, "invalid_token", "not valid before")
    other = fetch(lab.app_url + "/api/me", headers=bearer(lab.mint_jwt(ttl_s=600, aud="billing")))
    assert_bearer_error(other, 401, "invalid_token", "audience")


def test_clock_offset_expires_a_token(lab: Lab) -> None:
    token = lab.mint_jwt(ttl_s=900)
    assert fetch(lab.app_url + "/api/me", headers=bearer(token)).status == 200
    lab.apply(clock_offset_s=3600)
    assert_bearer_error(
        fetch(lab.app_url + "/api/me", headers=bearer(token)), 401, "invalid_token", "expired"
    )


def test_require_role_answers_insufficient_scope_with_403_or_401(lab: Lab) -> None:
    user_token = lab.mint_jwt(ttl_s=600)
    lab.apply(require_role="admin")
    params = assert_bearer_error(
        fetch(lab.app_url + "/api/me", headers=bearer(user_token)), 403, "insufficient_scope"
    )
    assert params["scope"] == "admin"
    lab.apply(require_role="admin", insufficient_status=401)
    assert_bearer_error(fetch(lab.app_url + "/api/me", headers=bearer(user_token)), 401, "insufficient_scope")
    admin = fetch(lab.app_url + "/api/me", headers=bearer(lab.mint_jwt(ttl_s=600, roles=["user", "admin"])))
    assert admin.status == 200


# -- API key ----------------------------------------------------------------------------------------


def assert_key_refused(reply: Reply, fragment: str) -> None:
    assert reply.status == 401
    params = challenge_params(reply.header("WWW-Authenticate") or "")
    assert (reply.header("WWW-Authenticate") or "").startswith("ApiKey ")
    assert params["error"] == "invalid_key" and fragment in params["error_description"]


def test_api_key_in_header_and_query_and_revoked(lab: Lab) -> None:
    url = lab.app_url + "/apikey/data"
    assert fetch(url, headers={"X-API-Key": lab.api_key}).status == 200
    assert_key_refused(fetch(url), "no API key")
    assert_key_refused(fetch(url, headers={"X-API-Key": "lab_guess"}), "unknown")
    lab.apply(api_key_revoked=True)
    assert_key_refused(fetch(url, headers={"X-API-Key": lab.api_key}), "revoked")
    lab.apply(api_key_location="query")
    assert_key_refused(fetch(url, headers={"X-API-Key": lab.api_key}), "query parameter api_key")
    assert fetch(f"{url}?api_key={lab.api_key}").status == 200
    lab.apply(api_key_header_name="X-Api-Token")
    assert_key_refused(fetch(url, headers={"X-API-Key": lab.api_key}), "X-Api-Token")
    assert fetch(url, headers={"X-Api-Token": lab.api_key}).status == 200


# -- OpenID Connect ---------------------------------------------------------------------------------


def oidc_sign_in(lab: Lab, password: str | None = None) -> Reply:
    """Walk the authorization code flow as a browser would; returns the callback's reply."""
    start = fetch(lab.app_url + "/oidc/start")
    assert start.status == 302
    tx = (start.cookie("oidc_tx") or {})["value"]
    authorize = start.header("Location") or ""
    assert authorize.startswith(lab.idp_url + "/authorize?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert query["response_type"] == "code" and query["scope"] == "openid"
    assert query["redirect_uri"] == lab.app_url + "/oidc/callback" and query["state"] and query["nonce"]
    form = fetch(authorize)
    assert form.status == 200 and "type='password'" in form.text
    back = form_post(
        lab.idp_url + "/authorize", {**query, "username": lab.username, "password": password or lab.password}
    )
    if back.status != 302:
        return back
    callback = back.header("Location") or ""
    assert callback.startswith(lab.app_url + "/oidc/callback?")
    assert parse_qs(urlsplit(callback).query)["state"] == [query["state"]]
    return fetch(callback, headers={"Cookie": f"oidc_tx={tx}"})


def test_oidc_code_flow_end_to_end(lab: Lab) -> None:
    discovery = fetch(lab.idp_url + "/.well-known/openid-configuration").json()
    assert discovery["issuer"] == lab.idp_url and discovery["token_endpoint"] == lab.idp_url + "/token"
    callback = oidc_sign_in(lab)
    assert callback.status == 302 and callback.header("Location") == "/account"
    session = callback.cookie("session")
    assert session is not None and session["samesite"] == "Lax"
    account = fetch(lab.app_url + "/account", headers={"Cookie": f"session={session['value']}"})
    assert account.status == 200 and "alice" in account.text
    id_tokens = [s for s in lab.secrets() if s.count(".") == 2 and jwt.get_unverified_header(s)]
    assert any(jwt.decode(t, options={"verify_signature": False})["iss"] == lab.idp_url for t in id_tokens)


def test_oidc_refuses_a_wrong_password_and_a_foreign_state(lab: Lab) -> None:
    assert oidc_sign_in(lab, password="wrong").status == 401
    start = fetch(lab.app_url + "/oidc/start")
    state = parse_qs(urlsplit(start.header("Location") or "").query)["state"][0]
    forged = fetch(f"{lab.app_url}/oidc/callback?code=x&state={state}", headers={"Cookie": "oidc_tx=other"})
    assert forged.status == 401 and "state" in forged.text


def test_oidc_callback_cookie_follows_the_samesite_switch(lab: Lab) -> None:
    lab.apply(session_cookie_samesite="Strict")
    session = oidc_sign_in(lab).cookie("session")
    assert session is not None and session["samesite"] == "Strict"


def test_token_endpoint_checks_the_client_and_uses_a_code_once(lab: Lab) -> None:
    assert form_post(lab.idp_url + "/token", {"grant_type": "authorization_code", "code": "x"}).status == 401
    fields = {
        "grant_type": "authorization_code",
        "code": "never-issued",
        "redirect_uri": lab.app_url + "/oidc/callback",
        "client_id": lab.client_id,
        "client_secret": lab.client_secret,
    }
    reply = form_post(lab.idp_url + "/token", fields)
    assert reply.status == 400 and reply.json()["error"] == "invalid_grant"


def test_secrets_lists_everything_issued(lab: Lab) -> None:
    session = sign_in(lab)
    token = lab.mint_jwt(ttl_s=60)
    listed = lab.secrets()
    assert {lab.password, lab.api_key, session, token} <= set(listed)
