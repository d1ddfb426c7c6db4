"""Sessions that ended between visits: the session cookie a login sets was gone from the returning browser."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from loginprobe.checks.common import (
    ablations_of,
    accepted_submission,
    domain_matches,
    effective_status,
    failing_runs,
    fmt_duration,
    host_of,
    make_finding,
    observable,
    path_matches,
    protected_exchange,
    says_not_authenticated,
    sent_cookie_names,
    site_of,
    status_text,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import Exchange, RunEvidence, SetCookie, SiteEvidence
from loginprobe.verdict import DIRECT, INFERRED_STRONG, INFERRED_WEAK, Finding


def _lifetime(sc: SetCookie) -> str:
    """How long the browser keeps the cookie, as its Set-Cookie says."""
    attrs = {key.lower(): value for key, value in sc.attributes.items()}
    max_age = attrs.get("max-age", "")
    if max_age.lstrip("-").isdigit():
        return f"Max-Age={max_age}: the browser drops it {fmt_duration(int(max_age))} after the login"
    if attrs.get("expires"):
        return f"Expires={attrs['expires']}"
    return "no Expires or Max-Age: a browser-session cookie, dropped when the browser closes"


def _refused_visits_healed_by_signing_in(
    ev: SiteEvidence,
) -> Iterator[tuple[RunEvidence, Exchange, RunEvidence]]:
    """Returning visits that did not sign in, whose protected request (not from a cache) got 401/403,
    with the relogin run that fixed them: (visit, its protected exchange, relogin)."""
    for run in failing_runs(ev):
        if not run.returning_visit or run.login_ran:
            continue
        ex = protected_exchange(run)
        if ex is None or ex.from_cache or effective_status(ex) not in (401, 403):
            continue
        relogin = ablations_of(ev, run).get("relogin")
        if relogin is not None and relogin.outcome.success:
            yield run, ex, relogin


@check(cause="stale-cookie")
def session_cookie_gone(ev: SiteEvidence) -> Iterator[Finding]:
    """A returning visit lacked the session cookie that signing in sets, and signing in again fixed it."""
    for run, ex, relogin in _refused_visits_healed_by_signing_in(ev):
        relogin_ex = protected_exchange(relogin)
        submission = accepted_submission(relogin, relogin_ex)
        if relogin_ex is None or submission is None:
            continue
        # The cookies the new login set that its protected request carried: the session, by what it did.
        held = {c.name for c in run.before.cookies} | set(sent_cookie_names(ex))
        carried = set(sent_cookie_names(relogin_ex))
        gone = [
            sc
            for sc in submission.set_cookies
            if sc.name in carried
            and sc.name not in held
            and site_of(submission.url) == site_of(run.expectations.protected_url)
        ]
        if not gone:
            continue
        cookie = gone[0]
        said = says_not_authenticated(ex)
        server_said = f' (the server said "{said}")' if said else ""
        yield make_finding(
            DIRECT if said or ex.challenges else INFERRED_STRONG,
            f"The returning profile no longer held `{cookie.name}`, the session cookie signing in sets "
            f"({_lifetime(cookie)}); {where(run, ex)} went without it and got {status_text(ex)}"
            f"{server_said}, the site did not ask this visit to sign in, and signing in again "
            f"({relogin.label}: {submission.method} {submission.url} set it) fixed it: the earlier "
            "session had ended.",
            f"Sign in again. If sessions should outlast this, give `{cookie.name}` a longer lifetime on "
            "the server; and have the app send a signed-out user to the login page instead of failing.",
            run,
            ex,
        )


@check(cause="stale-cookie")
def held_cookie_refused_unseen(ev: SiteEvidence) -> Iterator[Finding]:
    """Cookie header unseen: the returning profile held cookies for the URL, and signing in again fixed it."""
    for run, ex, relogin in _refused_visits_healed_by_signing_in(ev):
        if observable(run, "cookies_sent"):
            continue
        host, path = host_of(ex.url), urlsplit(ex.url).path or "/"
        https = ex.url.startswith("https:")
        # What the jar held for this URL is observable, and a same-site request carries it (the engine's
        # cookie rules, measured for WebKitGTK in tests/flows/test_webkit_cookie_rules.py).
        held = sorted(
            {
                c.name
                for c in run.before.cookies
                if domain_matches(host, c.domain) and path_matches(path, c.path) and (https or not c.secure)
            }
        )
        if not held:
            continue
        yield make_finding(
            INFERRED_WEAK,
            f"The returning profile held {', '.join(f'`{n}`' for n in held)} for {ex.url} from the earlier "
            f"visit, the site did not ask this visit to sign in, {where(run, ex)} got {status_text(ex)}, and "
            f"signing in again ({relogin.label}) fixed it: the server no longer accepts the session those "
            f"cookies hold ({run.engine} cannot show the Cookie header, so this is read from its jar).",
            "Sign in again (or delete this site's cookies); on the server, send a signed-out user to the "
            "login page, or expire the old session cookie, instead of failing the request.",
            run,
            ex,
        )
