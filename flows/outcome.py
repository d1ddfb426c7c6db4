"""A run's outcome, judged from the protected resource alone (its last request, after redirects).

Engine-neutral: the Playwright probe (flows/probe.py) and WebKitGTK's runs (flows/webkit_gtk.py) both
hand it their exchanges.
"""

from __future__ import annotations

import re

from loginprobe.config.settings import Site
from loginprobe.evidence import Exchange, Outcome, same_resource
from loginprobe.secrets import Redactor


def _chain_to(final: Exchange, exchanges: list[Exchange]) -> list[Exchange]:
    """The redirect chain that ended at `final`, first hop first (each hop names the one before)."""
    by_id = {ex.id: ex for ex in exchanges}
    chain = [final]
    while chain[0].redirected_from is not None:
        previous = by_id.get(chain[0].redirected_from)
        if previous is None or previous in chain:
            break
        chain.insert(0, previous)
    return chain


def judge(
    site: Site,
    exchanges: list[Exchange],
    flow_error: str | None,
    selector_ok: bool | None,
    redactor: Redactor,
    timeout_s: float | None = None,
) -> Outcome:
    """Success is decided by the protected resource alone: its last request, after redirects."""
    target = redactor.text(site.target)
    candidates = [ex for ex in exchanges if same_resource(ex.url, target)]
    suffix = f" (the flow reported: {flow_error})" if flow_error else ""
    if not candidates:
        return Outcome(success=False, reason=f"the protected URL {target} was never requested{suffix}")
    # A redirect the browser refused to follow (net::ERR_TOO_MANY_REDIRECTS, NS_ERROR_REDIRECT_LOOP)
    # decides the outcome, even when Chromium's CDP view adds later, unmatched hops of the same URL.
    for ex in reversed(exchanges):
        if ex.failure and "REDIRECT" in ex.failure.upper() and ex.status is not None:
            chain = _chain_to(ex, exchanges)
            if any(hop in candidates for hop in chain):
                return Outcome(
                    success=False,
                    status=ex.status,
                    reason=f"{chain[0].method} {chain[0].url} was redirected {len(chain) - 1} times "
                    f"until the browser gave up ({ex.failure}){suffix}",
                    final_url=ex.url,
                    protected_exchange=ex.id,
                )
    first = candidates[-1]
    final = first
    by_parent = {ex.redirected_from: ex for ex in exchanges if ex.redirected_from is not None}
    for _ in range(20):  # follow the redirect chain to its last hop
        following = by_parent.get(final.id)
        if following is None:
            break
        final = following
    if final.status is None:
        # Neither answered nor failed when the run ended: the server accepted and never replied.
        pending = "timed out: no answer before the run ended"
        if timeout_s:
            pending = f"timed out: no answer within {timeout_s:g} s"
        return Outcome(
            success=False,
            reason=f"{final.method} {final.url} got no response: {final.failure or pending}{suffix}",
            final_url=final.url,
            protected_exchange=final.id,
        )
    problems = []
    if final.status not in site.success.status:
        problems.append(f"answered {final.status}")
    if site.success.url_pattern:
        if not re.search(site.success.url_pattern, final.url):
            problems.append(f"ended at {final.url}, which does not match {site.success.url_pattern!r}")
    elif final.id != first.id and not same_resource(final.url, target):
        problems.append(f"was redirected to {final.url}")
    if selector_ok is False:
        problems.append(f"does not show {site.success.selector!r}")
    if problems:
        return Outcome(
            success=False,
            status=final.status,
            reason=f"{first.method} {first.url} " + " and ".join(problems) + suffix,
            final_url=final.url,
            protected_exchange=final.id,
        )
    return Outcome(
        success=True,
        status=final.status,
        reason=f"{final.method} {final.url} answered {final.status}",
        final_url=final.url,
        protected_exchange=final.id,
    )
