"""Small factories for `Report` objects with realistic values (mitmproxy's `tflow()` style)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from loginprobe.evidence import (
    Artifacts,
    AuthorizationSent,
    Challenge,
    CookieRecord,
    EngineStatus,
    Exchange,
    Expectations,
    JwtRecord,
    Outcome,
    RunEvidence,
    SetCookie,
    SkippedRun,
    StateSnapshot,
)
from loginprobe.report import Report
from loginprobe.verdict import Finding, Verdict

T0 = datetime(2025, 3, 14, 9, 30, 0, tzinfo=UTC)
FP_OLD = "‹secret:1a2b3c4d›"
FP_NEW = "‹secret:5e6f7a8b›"
FP_TOKEN = "‹secret:9c0d1e2f›"
CLEAR_COOKIES = "Clear the profile's cookies for shop.example, or expire the old cookie server-side."

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


def cookie(name: str = "session", fp: str = FP_NEW, **kw: Any) -> CookieRecord:
    """A session cookie of shop.example."""
    values: dict[str, Any] = {
        "name": name,
        "value_fingerprint": fp,
        "domain": "shop.example",
        "path": "/",
        "http_only": True,
        "secure": True,
        "same_site": "Lax",
    }
    return CookieRecord(**(values | kw))


def exchange(id: int, method: str, url: str, status: int | None, **kw: Any) -> Exchange:
    """One exchange, started `id` * 120 ms after T0."""
    values: dict[str, Any] = {
        "id": id,
        "method": method,
        "url": url,
        "status": status,
        "started_at": T0 + timedelta(milliseconds=120 * id),
        "duration_ms": 35.5 + id,
        "served_from": "network",
        "request_headers": [("Accept", "text/html"), ("User-Agent", "Mozilla/5.0 test")],
    }
    return Exchange(**(values | kw))


def form_run(
    site: str, engine: str, mode: str, *, success: bool, stale: bool = False, artifacts: bool = True
) -> RunEvidence:
    """A form login: GET /login, POST /login (Set-Cookie), GET /account (the protected resource)."""
    run_id = f"{site}-{engine}-{mode}"
    base = f"https://{site}.example"
    jar_fp = FP_OLD if stale else FP_NEW
    status = 200 if success else 401
    protected_headers = [
        ("Accept", "text/html"),
        ("Cookie", f"session={jar_fp}"),
        ("User-Agent", f"Mozilla/5.0 ({engine})"),
    ]
    if engine == "firefox":
        protected_headers.append(("Sec-GPC", "1"))
    exchanges = [
        exchange(1, "GET", f"{base}/login", 200, is_navigation=True, resource_type="document"),
        exchange(
            2,
            "POST",
            f"{base}/login",
            303,
            response_headers=[
                ("Location", "/account"),
                ("Set-Cookie", f"session={FP_NEW}; Path=/; HttpOnly"),
            ],
            set_cookies=[
                SetCookie(
                    name="session",
                    value_fingerprint=FP_NEW,
                    attributes={"path": "/", "httponly": ""},
                    stored=not stale,
                    blocked_reasons=["an older cookie with the same name shadows it"] if stale else [],
                )
            ],
        ),
        exchange(
            3,
            "GET",
            f"{base}/account",
            status,
            is_navigation=True,
            resource_type="document",
            redirected_from=2,
            request_headers=protected_headers,
            cookies_sent=["session"],
            served_from="disk-cache" if stale else "network",
            challenges=[] if success else [Challenge(scheme="Cookie", params={"realm": "shop"})],
            response_headers=[] if success else [("WWW-Authenticate", 'Cookie realm="shop"')],
        ),
    ]
    return RunEvidence(
        run_id=run_id,
        site=site,
        engine=engine,  # type: ignore[arg-type]
        engine_version={"chromium": "138.0.7204.92", "firefox": "153.0esr"}[engine],
        launch="system executable",
        mode=mode,  # type: ignore[arg-type]
        started_at=T0,
        finished_at=T0 + timedelta(seconds=2),
        expectations=Expectations(flow="form", protected_url=f"{base}/account", start_url=f"{base}/login"),
        exchanges=exchanges,
        before=StateSnapshot(taken="before", cookies=[cookie(fp=FP_OLD)] if mode == "persisted" else []),
        after=StateSnapshot(taken="after", cookies=[cookie(fp=jar_fp)]),
        outcome=Outcome(
            success=success,
            status=status,
            reason="GET /account answered 200"
            if success
            else "GET /account answered 401 with the old session",
            final_url=f"{base}/account",
            protected_exchange=3,
        ),
        artifacts=Artifacts(
            trace=f"{run_id}/trace.zip", har=f"{run_id}/network.har", screenshot=f"{run_id}/failure.png"
        )
        if artifacts
        else Artifacts(),
    )


def bearer_run(site: str, engine: str) -> RunEvidence:
    """A bearer API call whose JWT expired 7 minutes before the server's Date."""
    run_id = f"{site}-{engine}-fresh"
    server_date = T0 + timedelta(minutes=7, seconds=12)
    protected = exchange(
        1,
        "GET",
        f"https://{site}.example/v1/orders?page=1",
        401,
        resource_type="fetch",
        request_headers=[
            ("Accept", "application/json"),
            ("Authorization", f"Bearer eyJhbGciOi.eyJzdWIi.{FP_TOKEN}"),
        ],
        authorization=AuthorizationSent(scheme="Bearer", identity="alice", fingerprint=FP_TOKEN),
        challenges=[
            Challenge(scheme="Bearer", params={"error": "invalid_token", "error_description": "expired"})
        ],
        response_headers=[("WWW-Authenticate", 'Bearer error="invalid_token", error_description="expired"')],
        server_date=server_date,
        body_excerpt='{"error": "token <expired>"}',
    )
    return RunEvidence(
        run_id=run_id,
        site=site,
        engine=engine,  # type: ignore[arg-type]
        mode="fresh",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=1),
        expectations=Expectations(
            flow="bearer",
            protected_url=f"https://{site}.example/v1/orders",
            start_url=f"https://{site}.example/",
        ),
        exchanges=[protected],
        before=StateSnapshot(taken="before"),
        after=StateSnapshot(taken="after"),
        jwts=[
            JwtRecord(
                found_in="request header Authorization",
                exchange_id=1,
                fingerprint=FP_TOKEN,
                header={"alg": "RS256", "kid": "k1"},
                claims={"sub": "alice", "aud": "orders", "iss": "https://idp.example", "exp": 1741944600},
                expires_at=T0,
                issued_at=T0 - timedelta(hours=1),
                reference_time=server_date,
                reference="server-date",
                seconds_to_expiry=-432.0,
            )
        ],
        outcome=Outcome(
            success=False,
            status=401,
            reason="GET /v1/orders answered 401 invalid_token",
            protected_exchange=1,
        ),
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
