"""One quick real-browser smoke test: system Chromium signs in through the form and through OIDC."""

from __future__ import annotations

import re
from typing import Any

import pytest

from loginprobe.lab.server import Lab

pytestmark = pytest.mark.browser


def test_chromium_signs_in_through_the_form_and_through_oidc(
    lab: Lab, chromium_options: dict[str, Any]
) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(**chromium_options)
        try:
            # Form: /login -> POST -> 303 /account
            context = browser.new_context()
            page = context.new_page()
            page.goto(lab.app_url + "/login")
            page.fill("#username", lab.username)
            page.fill("#password", lab.password)
            page.click("button[type=submit]")
            expect(page).to_have_url(lab.app_url + "/account")
            expect(page.locator("#user")).to_contain_text("alice")
            context.close()

            # OIDC: the app -> the IdP's own form on localhost -> callback -> /account
            context = browser.new_context()
            page = context.new_page()
            page.goto(lab.app_url + "/oidc/start")
            expect(page).to_have_url(re.compile("^" + re.escape(lab.idp_url + "/authorize")))
            page.fill("#username", lab.username)
            page.fill("#password", lab.password)
            page.click("button[type=submit]")
            expect(page).to_have_url(lab.app_url + "/account")
            expect(page.locator("#user")).to_contain_text("alice")
            context.close()
        finally:
            browser.close()
