"""Login checks written as pytest tests, on pytest-playwright's browsers (loginprobe's `login_probe`).

    pip install loginprobe
    LAB_PASSWORD=... LAB_TOKEN=... LAB_API_KEY=... pytest examples/test_login_example.py \
        --loginprobe-config config/examples/lab-like.toml \
        --browser chromium --browser firefox --browser webkit \
        --tracing retain-on-failure --output test-results --junitxml junit.xml

A failing login fails its test with loginprobe's verdict (cause, evidence, next step), which also
lands in the JUnit XML as `loginprobe_cause` / `loginprobe_summary` / `loginprobe_next_step`
properties. Traces kept by `--tracing` are redacted of the secrets the probes used. An engine that
is not installed is skipped with the reason.
"""

from __future__ import annotations

from typing import Any

import pytest

from loginprobe.pytest_plugin import local_launch_args


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any], browser_type: Any) -> dict[str, Any]:
    """Playwright's own browsers when installed, else the system's (Debian's chromium, firefox-esr)."""
    return local_launch_args(browser_type, browser_type_launch_args)


@pytest.mark.parametrize("site", ["app-form", "app-basic", "app-bearer", "app-oidc"])
def test_login_reaches_the_protected_page(login_probe: Any, site: str) -> None:
    login_probe(site).assert_ok()


def test_api_key_is_accepted_where_the_api_reads_it(login_probe: Any) -> None:
    result = login_probe("app-api-key")
    # The verdict is data too: assert on the cause, or print result.explain() in your own message.
    assert result.verdict.primary == "none", result.explain()
