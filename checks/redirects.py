"""Redirect loops: the site's own redirect rules going round in a circle (a misconfigured server), or
a login page that sends a signed-in user back to a page that sends them to sign in (a refusal)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from urllib.parse import unquote, urljoin, urlsplit

from loginprobe.checks.common import (
    SESSION_FLOWS,
    accepted_submission,
    authorization_request,
    failing_runs,
    is_redirect,
    make_finding,
    observable,
    protected_exchange,
    sent_cookie_names,
)
from loginprobe.checks.permissions import CSRF_COOKIE, login_session_came_along
from loginprobe.checks.registry import check
from loginprobe.evidence import Exchange, RunEvidence, SiteEvidence
from loginprobe.verdict import HEURISTIC, INFERRED_STRONG, INFERRED_WEAK, Finding

# How Chromium and Firefox word a redirect chain they stopped following (after 20 hops).
REDIRECT_LOOP = re.compile(r"TOO_MANY_REDIRECTS|REDIRECT_LOOP|too many redirects", re.IGNORECASE)
# A chain longer than this whose URLs come back (one of them three times) is a loop even where the engine
# records no error for it: WebKitGTK's chain just stops at a hop that never answers.
LONG_CHAIN = 10


def _gave_up(run: RunEvidence, ex: Exchange) -> bool:
    """Whether the browser stopped following redirects at `ex`: its own error, or a long circling chain
    that ended without an answer."""
    if ex.failure:
        return bool(REDIRECT_LOOP.search(ex.failure))
    if ex.status is not None:
        return False
    chain = run.redirect_chain(ex.id)
    return len(chain) > LONG_CHAIN and max(Counter(hop.url for hop in chain).values()) >= 3


def redirect_loop(run: RunEvidence) -> list[Exchange] | None:
    """The redirect chain the browser gave up on, first hop first (the protected request's, else the
    last one), or None when no chain ended that way."""
    gave_up = [ex for ex in run.exchanges if _gave_up(run, ex)]
    if not gave_up:
        return None
    decided = protected_exchange(run)
    last = decided if decided in gave_up else gave_up[-1]
    return run.redirect_chain(last.id)


def ended(chain: list[Exchange]) -> str:
    """How the browser stopped following a redirect loop, in its words."""
    return chain[-1].failure or "the last hop never answered"


def loop_lap(chain: list[Exchange]) -> list[Exchange]:
    """One lap of a redirect loop: the hops from the last request's URL seen before it up to the last
    request (the last four hops when no URL came back, a chain that only grew)."""
    last = chain[-1]
    for i in range(len(chain) - 2, -1, -1):
        if chain[i].url == last.url and chain[i].method == last.method:
            return chain[i:-1]
    return chain[-5:-1] or chain


def _asks_to_return(sender: Exchange) -> bool:
    """Whether a redirect to sign in names the page it came from as where to return afterwards (an
    access guard's `?next=`, `returnTo=`), rather than a fixed route."""
    path = urlsplit(sender.url).path
    query = unquote(urlsplit(urljoin(sender.url, sender.header("location") or "")).query)
    return path not in ("", "/") and path in query


def _knew_the_user(run: RunEvidence, bounce: Exchange) -> bool:
    """Whether the login page's request carried a session: the one this run's login had just set, or,
    on a returning visit that did not sign in, a cookie of the profile's (CSRF cookies aside)."""
    if accepted_submission(run, bounce) is not None:
        return login_session_came_along(run, bounce)
    return any(not CSRF_COOKIE.search(name) for name in sent_cookie_names(bounce))


def guarded_refusal(run: RunEvidence, lap: list[Exchange]) -> tuple[Exchange, Exchange, bool] | None:
    """(the page that sent the user to sign in, the login page that sent them back, whether the session
    is seen) in a redirect loop's lap, when the page asked to be returned to after signing in, as access
    guards do, and the login page knew the user: a session came along, or the engine shows no
    Set-Cookie to tell (WebKitGTK)."""
    if run.expectations.flow not in SESSION_FLOWS or len(lap) < 2:
        return None
    seen = observable(run, "set_cookies")
    for sender in lap:
        if not is_redirect(sender) or not _asks_to_return(sender):
            continue
        # The sign-in page is where the sender sent the user (on a returning visit no login ran to say).
        sign_in = urlsplit(urljoin(sender.url, sender.header("location") or "")).path
        bounce = next((hop for hop in lap if hop is not sender and urlsplit(hop.url).path == sign_in), None)
        if bounce is None or not is_redirect(bounce):
            continue
        if seen and not _knew_the_user(run, bounce):
            return None
        return sender, bounce, seen
    return None


@check(cause="insufficient-permissions")
def login_page_loop(ev: SiteEvidence) -> Iterator[Finding]:
    """A page sent the signed-in user to sign in, the login page sent them back, until the browser quit."""
    for run in failing_runs(ev):
        chain = redirect_loop(run)
        found = guarded_refusal(run, loop_lap(chain)) if chain is not None else None
        if chain is None or found is None:
            continue
        sender, bounce, seen = found
        why = (
            "because they carried the session the accepted login had just set"
            if seen
            else f"as it does for a signed-in user ({run.engine} does not show the cookies that went)"
        )
        yield make_finding(
            INFERRED_WEAK if seen else HEURISTIC,
            f"{chain[0].method} {chain[0].url} in {run.label} went round {len(chain) - 1} redirects until "
            f"the browser gave up ({ended(chain)}): {sender.url} sent the user to sign in and come "
            f"back ({sender.status}, Location {sender.header('location')}), and the login page "
            f"{bounce.url} sent them straight back ({bounce.status}) {why}. The site knows the user and "
            "refuses this resource to them, with a redirect to sign in instead of 403.",
            "Give this user the role, group or permission the resource checks (or test with a user who "
            "has it); ask the site to answer 403 to a signed-in user it refuses (Django: "
            "`raise_exception=True` on the permission check when the login view redirects signed-in "
            "users).",
            run,
            sender,
        )


def _hop_text(ex: Exchange) -> str:
    """One hop of a redirect chain as a reader follows it: the URL, then how it answered."""
    location = ex.header("location")
    return f"{ex.url} ({ex.status}{f', Location {location}' if location else ''})"


@check(cause="server-misconfiguration")
def redirect_loop_found(ev: SiteEvidence) -> Iterator[Finding]:
    """The site's own redirects went round in a circle until the browser gave up."""
    for run in failing_runs(ev):
        chain = redirect_loop(run)
        if chain is None:
            continue
        lap = loop_lap(chain)
        if any(authorization_request(hop.url) for hop in chain):
            continue  # through the identity provider: a sign-in loop (permissions.sign_in_loop)
        if guarded_refusal(run, lap) is not None:
            continue  # a signed-in user refused, and bounced off the login page: login_page_loop
        last = chain[-1]
        circle = " -> ".join(_hop_text(hop) for hop in lap)
        repeats = last.url == lap[0].url
        yield make_finding(
            INFERRED_STRONG,
            f"{chain[0].method} {chain[0].url} in {run.label} was redirected {len(chain) - 1} times until "
            f"the browser gave up ({ended(chain)}); "
            + (
                f"the site's redirects go round in a circle: {circle} -> {last.url} again."
                if repeats
                else f"the last hops: {circle}."
            )
            + " No URL, credential or cookie of the user's can end it.",
            "Make the server's redirect rules agree (each hop's Location is in the report): typically a "
            "rule that strips a trailing slash against an app that adds it back, an http->https redirect "
            "behind a proxy whose scheme the app does not trust, or a canonical-host rule two layers "
            "disagree on.",
            run,
            last,
        )
