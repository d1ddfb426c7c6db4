"""The evidence factory of every test (mitmproxy's `tflow()` style): sensible defaults, override what matters.

Values are shaped like the recorder writes them: secrets are `‹secret:xxxxxxxx›` fingerprints, headers
are (name, value) pairs, Chromium runs carry CDP cache signals and cookie reasons, Firefox runs carry
the timing heuristic and no cookie reasons.

Over 400 lines: it is the one evidence factory the tests use (checks, reports, flows), a builder per
model; it sits at the top of tests/ as `loginprobe/evidence.py` sits at the top of the package.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import count
from typing import Any

from loginprobe.evidence import (
    Artifacts,
    AuthorizationSent,
    CacheStorageEntry,
    Challenge,
    CookieNotSent,
    CookieRecord,
    Engine,
    Exchange,
    Expectations,
    Header,
    JwtRecord,
    Outcome,
    RunEvidence,
    ServiceWorkerRecord,
    SetCookie,
    SiteEvidence,
    StateSnapshot,
    StorageArea,
)

T0 = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
APP = "http://127.0.0.1:5000"
IDP = "http://localhost:5001"
OLD_SESSION = "‹secret:0ld5e551›"
NEW_SESSION = "‹secret:5e55a0e1›"
PASSWORD_FP = "‹secret:9a55c0de›"
TOKEN_FP = "‹secret:70ce0001›"
KEY_FP = "‹secret:a91c0de5›"

_run_ids = count(1)

SIGNALS = {
    "chromium": "chromium CDP",
    "firefox": "firefox: network timing present",
    "webkit": "",
}


def challenge(scheme: str, token68: str | None = None, **params: str) -> Challenge:
    return Challenge(scheme=scheme, params=params, token68=token68)


def challenge_header(ch: Challenge) -> str:
    parts = [f'{key}="{value}"' for key, value in ch.params.items()]
    return f"{ch.scheme} {', '.join(parts)}".strip()


def auth(
    scheme: str = "Basic", identity: str | None = "alice", fingerprint: str = PASSWORD_FP
) -> AuthorizationSent:
    return AuthorizationSent(scheme=scheme, identity=identity, fingerprint=fingerprint)


def set_cookie(
    name: str = "session",
    fingerprint: str = NEW_SESSION,
    *,
    stored: bool | None = None,
    reasons: Sequence[str] = (),
    **attributes: str,
) -> SetCookie:
    attrs = {
        "path": "/",
        "httponly": "",
        "samesite": "Lax",
        **{k.replace("_", "-"): v for k, v in attributes.items()},
    }
    return SetCookie(
        name=name,
        value_fingerprint=fingerprint,
        attributes=attrs,
        stored=stored,
        blocked_reasons=list(reasons),
    )


def cookie(
    name: str = "session",
    fingerprint: str = NEW_SESSION,
    domain: str = "127.0.0.1",
    path: str = "/",
    **kw: Any,
) -> CookieRecord:
    return CookieRecord(name=name, value_fingerprint=fingerprint, domain=domain, path=path, **kw)


def make_exchange(
    id: int = 0,
    url: str = f"{APP}/account",
    method: str = "GET",
    status: int | None = 200,
    *,
    engine: Engine = "chromium",
    request_headers: Iterable[Header] = (),
    response_headers: Iterable[Header] = (),
    cookies: Sequence[tuple[str, str]] = (),
    authorization: AuthorizationSent | None = None,
    challenges: Sequence[Challenge] = (),
    set_cookies: Sequence[SetCookie] = (),
    cookies_not_sent: Sequence[CookieNotSent] = (),
    served_from: str = "network",
    served_from_signal: str | None = None,
    date: datetime | None = T0,
    started_at: datetime | None = None,
    redirected_from: int | None = None,
    location: str | None = None,
    failure: str | None = None,
    body: str | None = None,
    is_navigation: bool = True,
    resource_type: str | None = None,
    accept: str | None = "text/html",
    content_type: str | None = "text/html; charset=utf-8",
    **fields: Any,
) -> Exchange:
    """One request/response as the recorder writes it; `date` sets both Date and server_date, `fields`
    any other Exchange field (`duration_ms`, `status_text`, ...)."""
    req: list[Header] = [("Accept", accept)] if accept is not None else []
    if authorization is not None:
        req.append(("Authorization", f"{authorization.scheme} {authorization.fingerprint}"))
    if cookies:
        req.append(("Cookie", "; ".join(f"{name}={fp}" for name, fp in cookies)))
    req.extend(request_headers)
    res: list[Header] = []
    if status is not None:
        if content_type is not None:
            res.append(("Content-Type", content_type))
        if date is not None:
            res.append(("Date", format_datetime(date, usegmt=True)))
        res.extend(("WWW-Authenticate", challenge_header(ch)) for ch in challenges)
        if location:
            res.append(("Location", location))
        for sc in set_cookies:
            res.append(("Set-Cookie", f"{sc.name}={sc.value_fingerprint}"))
        res.extend(response_headers)
    return Exchange(
        id=id,
        method=method,
        url=url,
        resource_type=resource_type or ("document" if is_navigation else "fetch"),
        is_navigation=is_navigation,
        request_headers=req,
        status=status,
        response_headers=res,
        served_from=served_from,  # type: ignore[arg-type]
        served_from_signal=SIGNALS[engine] if served_from_signal is None else served_from_signal,
        redirected_from=redirected_from,
        started_at=started_at or date,
        failure=failure,
        authorization=authorization,
        challenges=list(challenges) if status is not None else [],
        cookies_sent=[name for name, _ in cookies],
        cookies_not_sent=list(cookies_not_sent),
        set_cookies=list(set_cookies),
        server_date=date if status is not None else None,
        body_excerpt=body,
        **fields,
    )


def make_run(
    exchanges: Sequence[Exchange] = (),
    *,
    engine: Engine = "chromium",
    mode: str = "fresh",
    ablation: str | None = None,
    via_proxy: bool = False,
    success: bool | None = None,
    protected: int | None = None,
    flow: str = "form",
    protected_url: str = f"{APP}/account",
    start_url: str | None = None,
    credentials: Sequence[str] = ("username", "password"),
    before_cookies: Sequence[CookieRecord] = (),
    after_cookies: Sequence[CookieRecord] | None = None,
    before_storage: Sequence[StorageArea] = (),
    service_workers: Sequence[ServiceWorkerRecord] = (),
    cache_storage: Sequence[CacheStorageEntry] = (),
    jwts: Sequence[JwtRecord] = (),
    engine_notes: Sequence[str] = (),
    unanswerable_schemes: Sequence[str] = (),
    started_at: datetime = T0 - timedelta(seconds=2),
    run_id: str | None = None,
    returning_visit: bool = False,
    login_ran: bool = True,
    site: str = "site",
    finished_at: datetime | None = None,
    reason: str | None = None,
    engine_version: str = "",
    launch: str = "",
    artifacts: Artifacts | None = None,
    **expectations: Any,
) -> RunEvidence:
    """One run; the protected exchange defaults to the last one, success to its status being 2xx, the
    outcome's reason to what that exchange answered."""
    exchanges = list(exchanges) or [make_exchange(engine=engine)]
    decided = exchanges[-1] if protected is None else next(ex for ex in exchanges if ex.id == protected)
    if success is None:
        success = decided.status is not None and 200 <= decided.status < 300
    if reason is None and decided.status is None:
        reason = f"{decided.method} {decided.url} got no response: {decided.failure}"
    elif reason is None:
        reason = f"{decided.method} {decided.url} answered {decided.status}"
    if after_cookies is None:
        jar = {c.key(): c for c in before_cookies}
        for ex in exchanges:
            for sc in ex.set_cookies:
                if sc.stored is not False:
                    jar[(sc.name, "127.0.0.1", sc.attributes.get("path", "/"))] = cookie(
                        sc.name,
                        sc.value_fingerprint,
                        path=sc.attributes.get("path", "/"),
                        same_site=sc.attributes.get("samesite"),
                        secure="secure" in sc.attributes,
                        http_only="httponly" in sc.attributes,
                    )
        after_cookies = list(jar.values())
    return RunEvidence(
        run_id=run_id or f"run-{next(_run_ids)}",
        site=site,
        engine=engine,
        engine_version=engine_version,
        launch=launch,
        mode=mode,  # type: ignore[arg-type]
        ablation=ablation,  # type: ignore[arg-type]
        via_proxy=via_proxy,
        started_at=started_at,
        finished_at=finished_at or started_at + timedelta(seconds=5),
        expectations=Expectations(
            flow=flow,  # type: ignore[arg-type]
            protected_url=protected_url,
            start_url=start_url or protected_url,
            credentials_configured=list(credentials),
            **expectations,
        ),
        exchanges=exchanges,
        before=StateSnapshot(
            taken="before",
            cookies=list(before_cookies),
            storage=list(before_storage),
            service_workers=list(service_workers),
            cache_storage=list(cache_storage),
        ),
        after=StateSnapshot(
            taken="after", cookies=list(after_cookies), service_workers=list(service_workers)
        ),
        jwts=list(jwts),
        outcome=Outcome(
            success=success,
            status=decided.status,
            reason=reason,
            final_url=decided.url,
            protected_exchange=decided.id,
        ),
        engine_notes=list(engine_notes),
        unanswerable_schemes=list(unanswerable_schemes),
        returning_visit=returning_visit,
        login_ran=login_ran,
        artifacts=artifacts or Artifacts(),
    )


def make_site(*runs: RunEvidence, site: str = "site") -> SiteEvidence:
    return SiteEvidence(site=site, runs=list(runs))


def make_jwt(
    exchange_id: int | None,
    *,
    exp: datetime | None = None,
    nbf: datetime | None = None,
    iat: datetime | None = None,
    reference: datetime | None = T0,
    found_in: str = "request header Authorization",
    fingerprint: str = TOKEN_FP,
    header: dict[str, object] | None = None,
    **claims: object,
) -> JwtRecord:
    all_claims: dict[str, object] = {"sub": "alice", **claims}
    if exp is not None:
        all_claims["exp"] = int(exp.timestamp())
    return JwtRecord(
        found_in=found_in,
        exchange_id=exchange_id,
        fingerprint=fingerprint,
        header=header or {"alg": "HS256", "typ": "JWT"},
        claims=all_claims,
        expires_at=exp,
        not_before=nbf,
        issued_at=iat,
        reference_time=reference,
        reference="server-date" if reference is not None else "local-clock",
        seconds_to_expiry=(exp - reference).total_seconds() if exp and reference else None,
    )


# -- whole flows, as engines record them ----------------------------------------------------------


def form_login(
    *,
    engine: Engine = "chromium",
    login_status: int = 303,
    session: SetCookie | None = None,
    account_status: int | None = 401,
    account_cookies: Sequence[tuple[str, str]] | None = None,
    account_headers: Iterable[Header] = (),
    account_challenges: Sequence[Challenge] = (
        challenge("Cookie", realm="app", **{"form-action": "/login"}),
    ),
    account_served_from: str = "network",
    account_date: datetime | None = T0 + timedelta(seconds=1),
    base: str = APP,
    account_failure: str | None = None,
) -> list[Exchange]:
    """GET /login, POST /login (303 + Set-Cookie when accepted), GET the protected page."""
    session = session if session is not None else set_cookie()
    accepted = 300 <= login_status < 400
    if account_cookies is None:
        account_cookies = (
            [(session.name, session.value_fingerprint)] if accepted and session.stored is not False else []
        )
    ok = account_status is not None and account_status < 300
    return [
        make_exchange(0, f"{base}/login", engine=engine, date=T0 - timedelta(seconds=1)),
        make_exchange(
            1,
            f"{base}/login",
            "POST",
            login_status,
            engine=engine,
            set_cookies=[session] if accepted else [],
            location=f"{base}/account" if accepted else None,
            challenges=[] if accepted else list(account_challenges),
            date=T0,
        ),
        make_exchange(
            2,
            f"{base}/account",
            status=account_status,
            engine=engine,
            cookies=account_cookies,
            challenges=[] if ok else list(account_challenges),
            response_headers=[("Cache-Control", "no-store"), *account_headers],
            served_from=account_served_from,
            date=account_date,
            redirected_from=1 if accepted else None,
            failure=account_failure,
        ),
    ]


def basic_login(
    *,
    engine: Engine = "chromium",
    final_status: int = 200,
    url: str = f"{APP}/basic/",
    offered: Sequence[Challenge] = (challenge("Basic", realm="Restricted", charset="UTF-8"),),
    answered: bool = True,
    scheme: str = "Basic",
    response_headers: Iterable[Header] = (),
) -> list[Exchange]:
    """The unauthenticated 401 with its challenge, then (when answered) the retry with Authorization."""
    first = make_exchange(
        0, url, status=401, engine=engine, challenges=offered, response_headers=response_headers
    )
    if not answered:
        return [first]
    ok = final_status < 300
    return [
        first,
        make_exchange(
            1,
            url,
            status=final_status,
            engine=engine,
            authorization=auth(scheme),
            challenges=[] if ok else list(offered),
            response_headers=response_headers,
            date=T0 + timedelta(seconds=1),
        ),
    ]


def api_call(
    *,
    engine: Engine = "chromium",
    url: str = f"{APP}/api/me",
    status: int = 200,
    authorization: AuthorizationSent | None = None,
    challenges: Sequence[Challenge] = (),
    request_headers: Iterable[Header] = (),
    response_headers: Iterable[Header] = (),
    body: str | None = None,
    date: datetime = T0 + timedelta(seconds=1),
) -> list[Exchange]:
    """An app page, then its fetch() to the API."""
    return [
        make_exchange(0, f"{APP}/app", engine=engine, date=T0),
        make_exchange(
            1,
            url,
            status=status,
            engine=engine,
            authorization=authorization,
            challenges=challenges,
            request_headers=request_headers,
            response_headers=[("Content-Type", "application/json"), *response_headers],
            body=body,
            date=date,
            is_navigation=False,
        ),
    ]


CHROMIUM_AUTH_NOTE = (
    "chromium answers HTTP authentication challenges inside its network stack: the 401 it answered and "
    "the Authorization it sent are not in the capture (a failure shows as "
    "net::ERR_INVALID_AUTH_CREDENTIALS with the final 401)"
)


def chromium_http_auth(
    *,
    final_status: int = 401,
    url: str = f"{APP}/basic/",
    offered: Sequence[Challenge] = (challenge("Basic", realm="Restricted", charset="UTF-8"),),
    failure: str | None = None,
    flow: str = "basic",
    mode: str = "fresh",
    credentials: Sequence[str] = ("username", "password"),
    response_headers: Iterable[Header] = (),
    date: datetime | None = T0,
) -> RunEvidence:
    """A Chromium Basic/Digest run as it is really recorded: only the final response, no Authorization.

    Chromium answers the challenge below DevTools, so neither the first 401 nor the Authorization it sent
    is in the capture; `hidden_request_headers` says so.
    """
    ok = final_status < 300
    ex = make_exchange(
        0,
        url,
        status=final_status,
        challenges=[] if ok else list(offered),
        failure=failure,
        response_headers=response_headers,
        date=date,
    )
    run = make_run(
        [ex],
        flow=flow,
        mode=mode,
        credentials=credentials,
        protected_url=url,
        engine_notes=[CHROMIUM_AUTH_NOTE] if credentials else [],
    )
    hidden = ["authorization"] if credentials else []
    return run.model_copy(update={"hidden_request_headers": hidden})
