"""`Report` objects with realistic values, their runs built with the tests' one evidence factory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loginprobe.evidence import Artifacts, Engine, EngineStatus, RunEvidence, SkippedRun
from loginprobe.report import Report
from loginprobe.verdict import Finding, Verdict
from tests.evidence_factory import auth, challenge, cookie, make_exchange, make_jwt, make_run, set_cookie

T0 = datetime(2025, 3, 14, 9, 30, 0, tzinfo=UTC)
FP_OLD = "‹secret:1a2b3c4d›"
FP_NEW = "‹secret:5e6f7a8b›"
FP_TOKEN = "‹secret:9c0d1e2f›"
CLEAR_COOKIES = "Clear the profile's cookies for shop.example, or expire the old cookie server-side."

VERSIONS: dict[Engine, str] = {"chromium": "138.0.7204.92", "firefox": "153.0esr"}
ENGINES = [
    EngineStatus(
        engine="chromium",
        available=True,
        version="138.0.7204.92",
        launch="system executable",
        executable="/usr/bin/chromium",
    ),
    EngineStatus(
        engine="firefox",
        available=True,
        version="153.0esr",
        launch="system executable (BiDi channel)",
        executable="/usr/bin/firefox-esr",
    ),
    EngineStatus(
        engine="webkit",
        available=False,
        reason="WebKit exists only as Playwright's build, which is not installed here",
        install_hint="playwright install webkit",
    ),
]


def _timing(exchange_id: int) -> dict[str, Any]:
    """When exchange `exchange_id` of a run started (120 ms after the one before) and how long it took."""
    return {"started_at": T0 + timedelta(milliseconds=120 * exchange_id), "duration_ms": 35.5 + exchange_id}


def form_run(
    site: str, engine: Engine, mode: str, *, success: bool, stale: bool = False, artifacts: bool = True
) -> RunEvidence:
    """A form login: GET /login, POST /login (Set-Cookie), GET /account (the protected resource)."""
    run_id = f"{site}-{engine}-{mode}"
    base = f"https://{site}.example"
    # The jar's cookie: a secure session cookie of the site.
    jar: dict[str, Any] = {"domain": f"{site}.example", "http_only": True, "secure": True, "same_site": "Lax"}
    jar_fp = FP_OLD if stale else FP_NEW
    status = 200 if success else 401
    agent = [("User-Agent", f"Mozilla/5.0 ({engine})")]
    if engine == "firefox":
        agent.append(("Sec-GPC", "1"))
    shadowed = ["an older cookie with the same name shadows it"] if stale else []
    # Served without Date or Content-Type, so the rendered exchanges stay short.
    common: dict[str, Any] = {"engine": engine, "date": None, "content_type": None}
    exchanges = [
        make_exchange(
            1,
            f"{base}/login",
            request_headers=[("User-Agent", "Mozilla/5.0 test")],
            **_timing(1),
            **common,
        ),
        make_exchange(
            2,
            f"{base}/login",
            "POST",
            303,
            is_navigation=False,
            resource_type="other",
            request_headers=[("User-Agent", "Mozilla/5.0 test")],
            location="/account",
            set_cookies=[set_cookie(fingerprint=FP_NEW, stored=not stale, reasons=shadowed)],
            **_timing(2),
            **common,
        ),
        make_exchange(
            3,
            f"{base}/account",
            status=status,
            cookies=[("session", jar_fp)],
            request_headers=agent,
            redirected_from=2,
            served_from="disk-cache" if stale else "network",
            challenges=[] if success else [challenge("Cookie", realm=site)],
            **_timing(3),
            **common,
        ),
    ]
    return make_run(
        exchanges,
        engine=engine,
        mode=mode,
        site=site,
        run_id=run_id,
        engine_version=VERSIONS[engine],
        launch="system executable",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=2),
        protected_url=f"{base}/account",
        start_url=f"{base}/login",
        credentials=(),
        before_cookies=[cookie(fingerprint=FP_OLD, **jar)] if mode == "persisted" else [],
        after_cookies=[cookie(fingerprint=jar_fp, **jar)],
        success=success,
        reason="GET /account answered 200" if success else "GET /account answered 401 with the old session",
        artifacts=Artifacts(
            trace=f"{run_id}/trace.zip", har=f"{run_id}/network.har", screenshot=f"{run_id}/failure.png"
        )
        if artifacts
        else None,
    )


def bearer_run(site: str, engine: Engine) -> RunEvidence:
    """A bearer API call whose JWT expired 7 minutes before the server's Date."""
    run_id = f"{site}-{engine}-fresh"
    server_date = T0 + timedelta(minutes=7, seconds=12)
    expired = challenge("Bearer", error="invalid_token", error_description="expired")
    protected = make_exchange(
        1,
        f"https://{site}.example/v1/orders?page=1",
        status=401,
        engine=engine,
        is_navigation=False,
        accept="application/json",
        content_type="application/json",
        authorization=auth("Bearer", fingerprint=FP_TOKEN),
        challenges=[expired],
        date=server_date,
        **_timing(1),
        body='{"error": "token <expired>"}',
    )
    token = make_jwt(
        1,
        exp=T0,
        iat=T0 - timedelta(hours=1),
        reference=server_date,
        fingerprint=FP_TOKEN,
        header={"alg": "RS256", "kid": "k1"},
        aud="orders",
        iss="https://idp.example",
    )
    return make_run(
        [protected],
        engine=engine,
        site=site,
        run_id=run_id,
        flow="bearer",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1),
        protected_url=f"https://{site}.example/v1/orders",
        start_url=f"https://{site}.example/",
        credentials=(),
        after_cookies=[],
        jwts=[token],
        reason="GET /v1/orders answered 401 invalid_token",
        artifacts=Artifacts(trace=f"{run_id}/trace.zip"),
    )


def verdicts() -> list[Verdict]:
    """A stale-cookie verdict for `shop` (persisted Chromium only) and expired-token for `api`."""
    return [
        Verdict(
            site="shop",
            primary="stale-cookie",
            confidence=0.85,
            summary="The persisted Chromium profile sent session=‹secret:1a2b3c4d› from an earlier login; "
            "the fresh run's new cookie was shadowed.",
            contributing=["stale-cache"],
            findings=[
                Finding(
                    cause="stale-cookie",
                    check="stale_cookie",
                    confidence=0.85,
                    summary="GET /account carried the old session cookie <before> the new one",
                    run_id="shop-chromium-persisted",
                    exchange_id=3,
                    next_step=CLEAR_COOKIES,
                    engines=["chromium"],
                ),
                Finding(
                    cause="stale-cache",
                    check="stale_cache",
                    confidence=0.4,
                    summary="GET /account came from the disk cache",
                    run_id="shop-chromium-persisted",
                    exchange_id=3,
                    next_step="Send Cache-Control: no-store on /account.",
                    engines=["chromium"],
                ),
            ],
            engines_failing=["chromium"],
            engines_passing=["firefox"],
            engine_specific=True,
            next_step=CLEAR_COOKIES,
        ),
        Verdict(
            site="api",
            primary="expired-token",
            confidence=0.95,
            summary="The bearer JWT's exp was 09:30:00Z; the server's Date said 09:37:12Z.",
            findings=[
                Finding(
                    cause="expired-token",
                    check="expired_token",
                    confidence=0.95,
                    summary="exp was 2025-03-14T09:30:00Z, the server's Date said 09:37:12Z",
                    run_id="api-chromium-fresh",
                    exchange_id=1,
                    next_step="Refresh the token before calling the API.",
                    engines=["chromium", "firefox"],
                )
            ],
            engines_failing=["chromium", "firefox"],
            next_step="Refresh the token before calling the API.",
        ),
    ]


def make_report(**overrides: Any) -> Report:
    """Two sites, Chromium and Firefox runs, WebKit unavailable (and its runs skipped)."""
    runs = [
        form_run("shop", "chromium", "fresh", success=True, artifacts=False),
        form_run("shop", "chromium", "persisted", success=False, stale=True),
        form_run("shop", "firefox", "fresh", success=True, artifacts=False),
        form_run("shop", "firefox", "persisted", success=True, artifacts=False),
        bearer_run("api", "chromium"),
        bearer_run("api", "firefox"),
    ]
    skipped = [
        SkippedRun(site=site, engine="webkit", mode=mode, reason=ENGINES[2].reason or "")
        for site in ("shop", "api")
        for mode in ("fresh", "persisted")
    ]
    values: dict[str, Any] = {
        "created_at": T0 + timedelta(minutes=8),
        "sites": ["shop", "api"],
        "engines": ENGINES,
        "runs": runs,
        "skipped": skipped,
        "verdicts": verdicts(),
    }
    return Report(**(values | overrides))
