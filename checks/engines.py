"""Engine-specific behaviour: the same login passes in one engine and fails in another, and why."""

from __future__ import annotations

from collections.abc import Iterator

from loginprobe.checks.common import (
    auth_path,
    credential_sent,
    describe_challenge,
    engine_limited,
    make_finding,
    observable,
    primary_runs,
    protected_exchange,
    sent_cookie_names,
    status_text,
    unanswerable_challenge,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import Engine, RunEvidence, SiteEvidence
from loginprobe.verdict import DIRECT, INFERRED, PRIMARY_FLOOR, CauseId, Finding


@check(cause="missing-credentials")
def engine_cannot_answer_challenge(ev: SiteEvidence) -> Iterator[Finding]:
    """The engine is known (unanswerable_schemes) never to answer this challenge, and it did not."""
    for run in primary_runs(ev):
        ex = protected_exchange(run)
        if ex is None or not engine_limited(run):
            continue
        challenge = unanswerable_challenge(run, ex)
        if challenge is None:
            continue
        others = [r for r in primary_runs(ev) if r.engine != run.engine and r.outcome.success]
        elsewhere = f"; {', '.join(sorted({r.engine for r in others}))} signed in" if others else ""
        yield make_finding(
            DIRECT,
            f"{where(run, ex)} was challenged with `{describe_challenge(challenge)}` and {run.engine} "
            f"sent no Authorization: {run.engine}, as launched here, never answers {challenge.scheme} "
            "challenges from configured credentials, so the server saw none (an engine limit, not a wrong "
            f"password){elsewhere}.",
            f"Not a problem of the site or the password: check this site with another engine, or drive "
            f"{run.engine} in a way that answers {challenge.scheme} (a real user's browser prompts for it).",
            run,
            ex,
        )


def _by_engine(ev: SiteEvidence) -> dict[Engine, list[RunEvidence]]:
    out: dict[Engine, list[RunEvidence]] = {}
    for run in primary_runs(ev):
        if not run.via_proxy and not engine_limited(run):
            out.setdefault(run.engine, []).append(run)
    return out


def _difference(failed: RunEvidence, passed: RunEvidence) -> tuple[CauseId, str] | None:
    """The first difference between a failed and a passed run that explains the failure."""
    bad, good = protected_exchange(failed), protected_exchange(passed)
    if bad is None or good is None:
        return None
    if bad.from_cache and not good.from_cache:
        return "stale-cache", f"the response came from the {bad.served_from} in {failed.engine}"
    stored_good = {sc.name for ex in auth_path(passed) for sc in ex.set_cookies if sc.stored is not False}
    jar_good = {c.name for c in passed.after.cookies}
    jar_bad = {c.name for c in failed.after.cookies}
    missing_in_jar = sorted((stored_good & jar_good) - jar_bad)
    if missing_in_jar:
        return "cookie-blocked", (
            f"{passed.engine} stored {', '.join(missing_in_jar)} and {failed.engine} did not"
        )
    sent_good, sent_bad = set(sent_cookie_names(good)), set(sent_cookie_names(bad))
    # An engine that cannot show the Cookie header sent nothing we know of, not nothing.
    comparable = observable(failed, "cookies_sent") and observable(passed, "cookies_sent")
    not_sent = sorted(sent_good - sent_bad) if comparable else []
    if not_sent:
        held = [name for name in not_sent if name in jar_bad]
        detail = " although it had them in its jar" if held else ""
        return "cookie-blocked", (
            f"{passed.engine} sent the cookies {', '.join(not_sent)} to {good.url}; {failed.engine} did not"
            f"{detail}"
        )
    cred_good, cred_bad = credential_sent(passed, good), credential_sent(failed, bad)
    # `cred_bad` also covers credentials the failed engine sent below capture (Chromium's Basic/Digest).
    if good.authorization is not None and bad.authorization is None and cred_bad is None:
        return (
            "missing-credentials",
            f"{passed.engine} sent {cred_good}; {failed.engine} sent {cred_bad or 'none'}",
        )
    if good.authorization and bad.authorization and good.authorization.scheme != bad.authorization.scheme:
        return "wrong-auth-scheme", (
            f"{passed.engine} sent {good.authorization.scheme}, {failed.engine} sent "
            f"{bad.authorization.scheme}"
        )
    if bad.url != good.url:
        return "wrong-url", f"{passed.engine} ended at {good.url}, {failed.engine} at {bad.url}"
    return None


@check(cause="unknown")
def engine_difference(ev: SiteEvidence) -> Iterator[Finding]:
    """The login passes in every run of one engine and fails in every run of another; name the difference."""
    runs = _by_engine(ev)
    passing = {e for e, rs in runs.items() if all(r.outcome.success for r in rs)}
    failing = {e for e, rs in runs.items() if not any(r.outcome.success for r in rs)}
    if not passing or not failing:
        return
    for engine in sorted(failing):
        for failed in runs[engine]:
            partner = next(
                (r for e in sorted(passing) for r in runs[e] if r.mode == failed.mode),
                runs[sorted(passing)[0]][0],
            )
            found = _difference(failed, partner)
            ex = protected_exchange(failed)
            outcome = f"{status_text(ex)} for {ex.url}" if ex is not None else failed.outcome.reason
            if found is None:
                yield make_finding(
                    PRIMARY_FLOOR,
                    f"{partner.label} signed in and {failed.label} failed ({outcome}); cookies stored "
                    "and sent, "
                    "Authorization and the final URL were the same.",
                    f"Open both traces side by side ({partner.label} vs {failed.label}) and compare the "
                    "requests before the protected one.",
                    failed,
                    ex,
                )
            else:
                cause, detail = found
                yield make_finding(
                    INFERRED,
                    f"{partner.label} signed in and {failed.label} failed ({outcome}): {detail}.",
                    f"Fix what {failed.engine} does differently ({detail}); it is engine behaviour, so check "
                    f"the site against that engine's rules (cookie SameSite/partitioning, auth schemes).",
                    failed,
                    ex,
                    cause=cause,  # the difference found names the cause
                )
            break  # one finding per failing engine
