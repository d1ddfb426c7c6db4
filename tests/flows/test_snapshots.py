"""The jar and page-state records both engines build (no browser: each engine's raw shapes in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from loginprobe.flows.exchange import clean_url, redact_response_headers
from loginprobe.flows.snapshots import cookie_record, page_state_records, stored_values
from loginprobe.secrets import Redactor

SESSION = "s3cr3t-session-value-0042"


@pytest.fixture
def redactor(tmp_path: Path) -> Redactor:
    return Redactor(key_path=tmp_path / "k")


def test_a_playwright_and_a_webdriver_cookie_give_the_same_record(redactor: Redactor) -> None:
    # Given the same session cookie as Playwright's storage_state and WebDriver's Get All Cookies show it
    playwright = {"name": "sessionid", "value": SESSION, "domain": "127.0.0.1", "path": "/",
                  "expires": -1, "httpOnly": True, "secure": False, "sameSite": "Lax"}  # fmt: skip
    webdriver = {"name": "sessionid", "value": SESSION, "domain": "127.0.0.1", "path": "/",
                 "httpOnly": True, "secure": False, "sameSite": "Lax"}  # fmt: skip

    # Then both are one record: a session cookie (no expiry), its value a fingerprint
    assert cookie_record(playwright, redactor) == cookie_record(webdriver, redactor)
    record = cookie_record(playwright, redactor)
    assert record.expires is None and record.same_site == "Lax" and record.http_only
    assert SESSION not in record.value_fingerprint


def test_a_persistent_cookie_keeps_its_expiry_in_either_shape(redactor: Redactor) -> None:
    base = {"name": "remember", "value": "1", "domain": ".app.test", "path": "/"}

    assert cookie_record({**base, "expires": 1767225600.0}, redactor).expires == 1767225600.0
    assert cookie_record({**base, "expiry": 1767225600}, redactor).expires == 1767225600.0
    assert cookie_record(base, redactor).same_site is None


def test_stored_values_are_fingerprints(redactor: Redactor) -> None:
    stored = stored_values({"access_token": SESSION, "theme": "dark"}, redactor)

    assert set(stored) == {"access_token", "theme"}
    assert SESSION not in stored["access_token"]
    assert SESSION not in redactor.text(f"token={SESSION}")  # long values are searched for in text too


def test_page_state_records_from_the_page_state_script_answer(redactor: Redactor) -> None:
    origin = "http://127.0.0.1:8000"
    answer = {
        "origin": origin,
        "sw": [{"scope": f"{origin}/", "script": f"{origin}/sw.js", "state": "activated"}],
        "caches": [{"cache": "api-v1", "url": f"{origin}/api/me?access_token={SESSION}",
                    "status": 401, "headers": [["www-authenticate", 'Bearer error="invalid_token"']]}],
    }  # fmt: skip

    workers, entries = page_state_records(
        answer, lambda h: redact_response_headers(h, redactor), lambda u: clean_url(u, redactor)
    )

    assert [(w.scope, w.state) for w in workers] == [(f"{origin}/", "activated")]
    assert [(e.cache_name, e.status) for e in entries] == [("api-v1", 401)]
    assert entries[0].headers == [("www-authenticate", 'Bearer error="invalid_token"')]
    assert SESSION not in entries[0].url
