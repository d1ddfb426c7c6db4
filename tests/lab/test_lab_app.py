"""The lab app's form login, sessions and their switches, over plain HTTP."""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import pytest

from loginprobe.lab.server import Lab
from loginprobe.lab.switches import Switches
from tests.lab.lab_http import fetch, form_post, sign_in


def test_urls_are_distinct_origins_and_sites(lab: Lab) -> None:
    assert lab.app_url.startswith("http://127.0.0.1:")
    assert lab.idp_url.startswith("http://localhost:")
    assert len({lab.app_url, lab.idp_url, lab.cache_url, lab.proxy_url}) == 4


def test_date_header_follows_the_lab_clock(lab: Lab) -> None:
    # Given a server clock two hours ahead
    lab.apply(clock_offset_s=7200)
    reply = fetch(lab.app_url + "/")
    # Then the one Date header says so
    assert len(reply.all("Date")) == 1
    served = parsedate_to_datetime(reply.header("Date") or "").timestamp()
    assert abs(served - (time.time() + 7200)) < 5


def test_form_login_sets_the_session_cookie_and_account_shows_the_user(lab: Lab) -> None:
    page = fetch(lab.app_url + "/login")
    assert page.status == 200
    assert "autocomplete='username'" in page.text and "autocomplete='current-password'" in page.text
    reply = form_post(lab.app_url + "/login", {"username": lab.username, "password": lab.password})
    assert reply.status == 303 and reply.header("Location") == "/account"
    cookie = reply.cookie("session")
    assert cookie is not None
    assert cookie["path"] == "/" and cookie["samesite"] == "Lax" and "httponly" in cookie
    assert "domain" not in cookie and "secure" not in cookie
    account = fetch(lab.app_url + "/account", headers={"Cookie": f"session={cookie['value']}"})
    assert account.status == 200 and "alice" in account.text
    assert account.header("Cache-Control") == "no-store"


def test_account_without_a_session_is_401_with_a_cookie_challenge(lab: Lab) -> None:
    reply = fetch(lab.app_url + "/account")
    assert reply.status == 401
    assert reply.header("WWW-Authenticate") == 'Cookie realm="lab" form-action="/login"'
    assert reply.header("Cache-Control") == "no-store"
    lab.apply(account_no_challenge=True)
    assert fetch(lab.app_url + "/account").header("WWW-Authenticate") is None


def test_wrong_password_is_401_with_the_form_again(lab: Lab) -> None:
    reply = form_post(lab.app_url + "/login", {"username": lab.username, "password": "nope"})
    assert reply.status == 401 and "type='password'" in reply.text and reply.cookie("session") is None


def test_password_rotated_refuses_the_configured_password(lab: Lab) -> None:
    lab.apply(password_rotated=True)
    assert (
        form_post(lab.app_url + "/login", {"username": lab.username, "password": lab.password}).status == 401
    )
    new = form_post(lab.app_url + "/login", {"username": lab.username, "password": lab.rotated_password})
    assert new.status == 303


def test_two_step_login(lab: Lab) -> None:
    first = fetch(lab.app_url + "/login2")
    assert "Next" in first.text and "type='password'" not in first.text
    second = form_post(lab.app_url + "/login2", {"username": lab.username})
    assert "type='password'" in second.text and "action='/login'" in second.text
    assert sign_in(lab)


def test_login_next_parameter_is_kept_and_never_leaves_the_site(lab: Lab) -> None:
    fields = {"username": lab.username, "password": lab.password}
    assert form_post(lab.app_url + "/login", {**fields, "next": "/sw-app/"}).header("Location") == "/sw-app/"
    assert (
        form_post(lab.app_url + "/login", {**fields, "next": "//evil.example/"}).header("Location")
        == "/account"
    )


def test_sessions_dropped_and_login_redirect_if_cookie(lab: Lab) -> None:
    session = sign_in(lab)
    lab.apply(sessions_dropped=True, login_redirect_if_cookie=True)
    cookie = {"Cookie": f"session={session}"}
    assert fetch(lab.app_url + "/account", headers=cookie).status == 401
    login = fetch(lab.app_url + "/login", headers=cookie)
    assert login.status == 302 and login.header("Location") == "/account"
    assert fetch(lab.app_url + "/login").status == 200  # no cookie: the form
    # A new login works again after the "restart"
    fresh = sign_in(lab)
    assert fetch(lab.app_url + "/account", headers={"Cookie": f"session={fresh}"}).status == 200


def test_secret_rotation_and_a_shadowing_cookie_on_a_longer_path(lab: Lab) -> None:
    # Given an old session cookie issued on Path=/account
    lab.apply(session_cookie_path="/account")
    old_reply = form_post(lab.app_url + "/login", {"username": lab.username, "password": lab.password})
    assert (old_reply.cookie("session") or {})["path"] == "/account"
    old = (old_reply.cookie("session") or {})["value"]
    # When the signing key rotates and the user signs in again (cookie on Path=/)
    lab.apply(session_secret_rotated=True)
    new = sign_in(lab)
    assert fetch(lab.app_url + "/account", headers={"Cookie": f"session={old}"}).status == 401
    assert fetch(lab.app_url + "/account", headers={"Cookie": f"session={new}"}).status == 200
    # Then the browser's order (longer path first, RFC 6265 §5.4) makes the old one win
    both = fetch(lab.app_url + "/account", headers={"Cookie": f"session={old}; session={new}"})
    assert both.status == 401


def test_session_cookie_attribute_switches(lab: Lab) -> None:
    lab.apply(
        session_cookie_domain="lab.example", session_cookie_secure=True, session_cookie_samesite="Strict"
    )
    cookie = form_post(lab.app_url + "/login", {"username": lab.username, "password": lab.password}).cookie(
        "session"
    )
    assert cookie is not None
    assert cookie["domain"] == "lab.example" and "secure" in cookie and cookie["samesite"] == "Strict"
    lab.apply(session_cookie_samesite=None)
    cookie = form_post(lab.app_url + "/login", {"username": lab.username, "password": lab.password}).cookie(
        "session"
    )
    assert cookie is not None and "samesite" not in cookie


def test_account_cache_control_applies_to_the_401_too(lab: Lab) -> None:
    lab.apply(account_cache_control="max-age=3600")
    reply = fetch(lab.app_url + "/account")
    assert reply.status == 401 and reply.header("Cache-Control") == "max-age=3600"
    assert reply.header("Vary") is None


def test_canonical_host_redirect_moves_protected_pages_to_localhost(lab: Lab) -> None:
    lab.apply(canonical_host_redirect=True)
    reply = fetch(lab.app_url + "/account?tab=1")
    assert reply.status == 301
    assert reply.header("Location") == f"http://localhost:{lab.app_port}/account?tab=1"
    # On the canonical host itself, no loop: the (cookie-less) page answers 401
    assert fetch(f"http://localhost:{lab.app_port}/account").status == 401


def test_flapping_refuses_every_other_valid_request(lab: Lab) -> None:
    session = sign_in(lab)
    lab.apply(flapping=True)
    replies = [fetch(lab.app_url + "/account", headers={"Cookie": f"session={session}"}) for _ in range(4)]
    assert [r.status for r in replies] == [401, 200, 401, 200]
    assert [r.header("X-Served-By") for r in replies] == ["lab-node-2", "lab-node-1"] * 2


def test_logout_forgets_the_session(lab: Lab) -> None:
    session = sign_in(lab)
    out = fetch(lab.app_url + "/logout", headers={"Cookie": f"session={session}"})
    assert out.status == 303 and (out.cookie("session") or {}).get("value") == ""
    assert fetch(lab.app_url + "/account", headers={"Cookie": f"session={session}"}).status == 401


def test_apply_resets_to_defaults_and_rejects_unknown_switches(lab: Lab) -> None:
    lab.apply(password_rotated=True)
    assert lab.switches.password_rotated
    lab.apply(flapping=True)
    assert not lab.switches.password_rotated and lab.switches.flapping
    with pytest.raises(TypeError):
        lab.apply(no_such_switch=True)
    with pytest.raises(ValueError):
        lab.apply(proxy_mode="sideways")
    assert Switches() == Lab().switches


def test_index_and_pages_answer(lab: Lab) -> None:
    for path in ("/", "/app", "/spa/login", "/spa/", "/sw-app/login", "/console/"):
        assert fetch(lab.app_url + path).status == 200, path


def test_service_worker_script_follows_the_switch(lab: Lab) -> None:
    script = fetch(lab.app_url + "/sw-app/sw.js")
    assert "javascript" in (script.header("Content-Type") or "")
    assert "const CACHE_FIRST = false;" in script.text
    lab.apply(sw_cache_first=True)
    assert "const CACHE_FIRST = true;" in fetch(lab.app_url + "/sw-app/sw.js").text
    assert fetch(lab.app_url + "/sw-app/data").status == 401
    data = fetch(lab.app_url + "/sw-app/data", headers={"Cookie": f"session={sign_in(lab)}"})
    assert data.status == 200 and data.json()["user"] == "alice"
