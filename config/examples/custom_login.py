"""An example of a user's own login flow for `flow = "script"`.

loginprobe calls `login(page, site)` in a fresh or persisted browser context while it records
everything; success is still decided by the site's protected_url. `context_options(site)` is optional.
"""

from __future__ import annotations

from typing import Any


def context_options(site: Any) -> dict[str, Any]:
    """Extra Playwright context options, e.g. a locale or HTTP credentials."""
    return {"locale": "en-GB"}


def login(page: Any, site: Any) -> None:
    """Sign in through a cookie banner and a two-field form."""
    page.goto(site.url)
    banner = page.get_by_role("button", name="Accept")
    if banner.count():
        banner.click()
    page.fill("#username", site.credentials.username)
    page.fill("#password", site.credentials.password.get_secret_value())
    page.click("button[type=submit]")
    page.wait_for_load_state("load")
