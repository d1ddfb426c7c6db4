"""httpbin 0.10 (gunicorn, .venv/servers) endpoints that fail the way real APIs do, one check for all.

- /basic-auth/user/passwd and /digest-auth/auth/user/passwd with a wrong password: invalid-credentials
  (the right password is the control). Firefox over BiDi never answers Digest: its run fails with no
  Authorization, which the verdict reports as the engine's limit, and the cause comes from Chromium.
- /hidden-basic-auth/user/passwd answers 404, never a challenge, so no browser ever sends the
  password: missing-credentials (the verdict also names the other reading, a wrong URL). Only Firefox
  shows that no challenge came: Chromium answers challenges out of the capture's sight, so its bare
  404 could follow an answered one; the cause comes from Firefox.
- /bearer from a page of the app: no token configured -> missing-credentials; the token -> none.
- The configured URL redirects (/redirect-to) to another origin before /bearer: the fetch drops the
  Authorization header on the cross-origin hop (Fetch standard) -> wrong-url.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.third_party import httpbin
from tests.realworld.servers import Checked, check, write_config

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ENGINES = ["chromium", "firefox"]


def http_auth_site(origin: str, name: str, kind: str, password_env: str) -> dict[str, object]:
    path = "/basic-auth/user/passwd" if kind == "basic" else "/digest-auth/auth/user/passwd"
    return {
        "name": name,
        "url": f"{origin}{path}",
        "flow": kind,
        "credentials": {"username": "user", "password_env": password_env},
    }


def bearer_site(origin: str, name: str, protected: str, token: bool = True) -> dict[str, object]:
    site: dict[str, object] = {
        "name": name,
        "url": f"{origin}/",
        "protected_url": protected,
        "flow": "bearer",
    }
    if token:
        site["credentials"] = {"token_env": "HTTPBIN_TOKEN"}
    return site


@pytest.fixture(scope="module")
def httpbin_check(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checked]:
    folder = tmp_path_factory.mktemp("httpbin")
    # Secrets where a user keeps them: a .env next to the config (httpbin's /bearer takes any token).
    (folder / ".env").write_text(
        "HTTPBIN_RIGHT=passwd\nHTTPBIN_WRONG=not-the-password\nHTTPBIN_TOKEN=tok-7Hq2Lm9Xc4Vb8Nz1\n",
        encoding="utf-8",
    )
    with httpbin(folder) as origin:
        other_origin = origin.replace("127.0.0.1", "localhost")  # the same server, another origin
        hidden = f"{origin}/hidden-basic-auth/user/passwd"  # 404 until the right Authorization comes
        sites = [
            http_auth_site(origin, "httpbin-basic-wrong", "basic", "HTTPBIN_WRONG"),
            http_auth_site(origin, "httpbin-basic", "basic", "HTTPBIN_RIGHT"),
            http_auth_site(origin, "httpbin-digest-wrong", "digest", "HTTPBIN_WRONG"),
            {**http_auth_site(origin, "httpbin-hidden-basic", "basic", "HTTPBIN_RIGHT"), "url": hidden},
            bearer_site(origin, "httpbin-bearer-no-token", f"{origin}/bearer", token=False),
            bearer_site(origin, "httpbin-bearer", f"{origin}/bearer"),
            bearer_site(origin, "httpbin-redirect-away", f"{origin}/redirect-to?url={other_origin}/bearer"),
        ]
        config = write_config(folder / "loginprobe.toml", sites, folder / "profiles")
        yield check(config, folder / "reports", ENGINES, ["fresh"], folder)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("site", "cause"),
    [
        ("httpbin-basic-wrong", "invalid-credentials"),
        ("httpbin-basic", "none"),
        ("httpbin-bearer-no-token", "missing-credentials"),
        ("httpbin-bearer", "none"),
        ("httpbin-redirect-away", "wrong-url"),
    ],
)
def test_httpbin(httpbin_check: Checked, site: str, cause: str, engine: str) -> None:
    httpbin_check.site(site).assert_primary(engine, cause)


def test_wrong_digest_password_is_invalid_credentials(httpbin_check: Checked) -> None:
    digest = httpbin_check.site("httpbin-digest-wrong")
    digest.assert_primary("chromium", "invalid-credentials")
    # Firefox over BiDi cannot answer Digest: its run fails too, and the verdict says why.
    (firefox,) = digest.runs("firefox", "fresh")
    assert not firefox["outcome"]["success"], digest.explain()
    assert "firefox" in digest.verdict["engines_failing"], digest.explain()
    assert "Digest" in digest.explain(), digest.explain()


def test_a_url_that_never_challenges_is_missing_credentials(httpbin_check: Checked) -> None:
    hidden = httpbin_check.site("httpbin-hidden-basic")
    hidden.assert_primary("firefox", "missing-credentials")
    assert "chromium" in hidden.verdict["engines_failing"], hidden.explain()
