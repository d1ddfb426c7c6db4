"""Cookies: a stale one left from an earlier session, or one the browser refused to store or send.

Over 400 lines: the stale-cookie and cookie-blocked checks are one cause family and share the
cookie reading below.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

from loginprobe.checks.common import (
    ablations_of,
    auth_path,
    cookie_pairs,
    domain_matches,
    effective_status,
    failing_runs,
    host_of,
    is_deletion,
    make_finding,
    observable,
    passing_runs,
    path_matches,
    protected_exchange,
    says_not_authenticated,
    sent_cookie_names,
    server_says,
    site_of,
    source_run,
    status_text,
    where,
)
from loginprobe.checks.registry import check
from loginprobe.evidence import CookieRecord, Exchange, RunEvidence, SetCookie, SiteEvidence, origin_of
from loginprobe.verdict import (
    DIFFERENTIAL,
    DIRECT,
    HEURISTIC,
    HEURISTIC_WEAK,
    INFERRED,
    INFERRED_STRONG,
    INFERRED_WEAK,
    STATED,
    Finding,
)

# Chromium's CDP reasons (Network.SetCookieBlockedReason / CookieBlockedReason), in words.
REASONS: dict[str, str] = {
    "SecureOnly": "it is Secure and the page is not https",
    "SameSiteStrict": "SameSite=Strict keeps it off requests a cross-site page or redirect chain started",
    "SameSiteLax": "SameSite=Lax keeps it off cross-site subrequests and non-GET navigations",
    "SameSiteUnspecifiedTreatedAsLax": "without a SameSite attribute Chromium treats it as Lax",
    "SameSiteNoneInsecure": "SameSite=None requires Secure",
    # Chromium reports the Schemeful variants whenever schemeful same-site is on, for any cross-site chain.
    "SchemefulSameSiteStrict": (
        "SameSite=Strict keeps it off requests a cross-site page or redirect chain started (another host, "
        "or http vs https)"
    ),
    "SchemefulSameSiteLax": (
        "SameSite=Lax keeps it off cross-site subrequests and non-GET navigations (another host, or http "
        "vs https)"
    ),
    "DomainMismatch": "its Domain does not match the host",
    "InvalidDomain": "its Domain attribute is not a valid domain for this host",
    "NotOnPath": "its Path does not cover the URL",
    "InvalidPrefix": "its __Secure-/__Host- prefix rules are broken",
    "OverwriteSecure": "an http page tried to overwrite a Secure cookie",
    "ThirdPartyPhaseout": "third-party cookies are blocked",
    "ThirdPartyBlockedInFirstPartySet": "third-party cookies are blocked",
    "UserPreferences": "the browser's cookie settings block it",
    "PartitionedCookies": "it is partitioned to another top-level site",
    "NameValuePairExceedsMaxSize": "it is larger than 4096 bytes",
}
BENIGN_NOT_SENT = ("NotOnPath", "DomainMismatch")
# RFC 6265bis §5.6: a user agent ignores a cookie whose name and value together exceed 4096 bytes.
MAX_COOKIE_BYTES = 4096


def _explain(reasons: list[str]) -> str:
    return "; ".join(f"{reason}: {REASONS[reason]}" if reason in REASONS else reason for reason in reasons)


def _stale_pairs(run: RunEvidence, ex: Exchange) -> list[tuple[str, CookieRecord | None]]:
    """Cookies the request sent unchanged from before the run: (name, the old jar record)."""
    set_in_run = {
        (sc.name, sc.value_fingerprint)
        for item in run.exchanges
        if item.id < ex.id
        for sc in item.set_cookies
    }
    set_names = {name for name, _ in set_in_run}
    stale: list[tuple[str, CookieRecord | None]] = []
    for name, fingerprint in cookie_pairs(ex):
        olds = [c for c in run.before.cookies if c.name == name]
        if not olds:
            continue
        if fingerprint:
            same = [c for c in olds if c.value_fingerprint == fingerprint]
            if same and (name, fingerprint) not in set_in_run:
                stale.append((name, same[0]))
        elif name not in set_names:
            stale.append((name, olds[0]))
    return stale


@check(cause="stale-cookie")
def stale_cookie(ev: SiteEvidence) -> Iterator[Finding]:
    """The failing request sent a cookie left from before the run, or two cookies of one name."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None or ex.from_cache or (ex.status is None and not ex.failure):
            continue
        chain = [item for item in run.redirect_chain(ex.id) if sent_cookie_names(item)]
        if not chain:
            continue
        target = chain[-1]
        stale = _stale_pairs(run, target)
        names = sent_cookie_names(target)
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if not stale and not duplicates:
            continue
        ablations = ablations_of(ev, run)
        if cookies_exonerated(ablations) is not None:
            continue
        no_cookies = ablations.get("no-cookies")
        confirmed = no_cookies is not None and no_cookies.outcome.success
        relogin = ablations.get("relogin")
        healed_by_login = relogin is not None and relogin.outcome.success
        fresh_ok = any(r.engine == run.engine and r.mode == "fresh" for r in passing_runs(ev))
        parts = []
        if duplicates:
            olds = [c for c in run.before.cookies if c.name in duplicates]
            paths = ", ".join(
                f"{c.name} on Path={c.path} from before the run ({c.value_fingerprint})" for c in olds
            )
            parts.append(
                f"sent {len([n for n in names if n in duplicates])} cookies named {', '.join(duplicates)}"
                + (f" ({paths})" if paths else "")
                + "; servers usually read only the first, and the browser puts the longer Path first"
            )
        for name, old in stale:
            if name in duplicates:
                continue
            if old is not None:
                parts.append(
                    f"sent `{name}` ({old.value_fingerprint}, Path={old.path}) unchanged from before the "
                    "run: "
                    "nothing in this run refreshed it"
                )
        if not parts:
            continue
        # Removing the cookies forces a new login, and a new login refreshes everything a login
        # refreshes (tokens, documents a cache keys on the session): it confirms less than it seems,
        # so it stays below direct evidence of a cache (see cached_credential_document).
        shadowed = confirmed and relogin is not None and not relogin.outcome.success
        if (confirmed and duplicates) or shadowed:
            # Signing in again kept failing until the old cookies were gone: one survives a new login.
            confidence = DIRECT
        elif confirmed or duplicates:
            confidence = INFERRED_STRONG
        elif healed_by_login:
            confidence = INFERRED_WEAK
        else:
            confidence = DIFFERENTIAL if fresh_ok else HEURISTIC
        fix = (
            f"; without the profile's cookies ({no_cookies.label}) the login worked"
            if confirmed and no_cookies
            else ""
        )
        if healed_by_login and relogin is not None:
            fix += f"; signing in again in the same profile ({relogin.label}) fixed it"
        elif shadowed and relogin is not None:
            fix += f", while signing in again with them ({relogin.label}) did not"
        yield make_finding(
            confidence,
            f"{where(run, target)} {' and '.join(parts)}; the protected request got {status_text(ex)}{fix}.",
            "Delete this site's old cookies (sign out, or clear cookies for the origin) and sign in again; "
            "on the server, expire old cookies explicitly (same name, Domain and Path) when issuing a new "
            "session and validate the session, not the cookie's presence.",
            run,
            target,
        )


@check(cause="stale-cookie")
def no_cookies_ablation_fixes(ev: SiteEvidence) -> Iterator[Finding]:
    """The returning profile failed, and the same profile without its cookies signed in."""
    for ablated in ev.runs:
        if ablated.ablation != "no-cookies" or not ablated.outcome.success:
            continue
        source = source_run(ev, ablated)
        if source is None or source.outcome.success:
            continue
        if cookies_exonerated(ablations_of(ev, source)) is not None:
            continue
        only = ablations_of(ev, source).get("only-cookies")
        also = (
            f"; a fresh context given only those cookies ({only.label}) failed too"
            if only is not None and not only.outcome.success
            else ""
        )
        names = ", ".join(sorted({c.name for c in source.before.cookies})) or "none recorded"
        yield make_finding(
            0.75 if also else 0.7,
            f"{source.label} failed ({source.outcome.reason}) while {ablated.label}, the same profile "
            "with its "
            f"cookies removed (it held: {names}), signed in{also}.",
            "Clear this site's cookies in the returning browser and sign in again; make the server "
            "replace or "
            "expire old session cookies when it issues a new one.",
            source,
            protected_exchange(source),
        )


def cookies_exonerated(ablations: dict[str, RunEvidence]) -> str | None:
    """Why the returning browser's cookies are not at fault: a differential run that kept exactly
    those cookies signed in (the profile without its cache, or a fresh context given only them)."""
    for name in ("no-cache", "only-cookies"):
        run = ablations.get(name)
        if run is not None and run.outcome.success:
            return f"{run.label}, which kept the same cookies, signed in"
    return None


def _infer_not_stored(sc: SetCookie, url: str) -> str | None:
    """Why an engine without cookie reasons (Firefox, WebKit) would have dropped this Set-Cookie."""
    if sc.size is not None and sc.size > MAX_COOKIE_BYTES:
        return f"its name and value are {sc.size} bytes, more than the {MAX_COOKIE_BYTES} browsers keep"
    attrs = {k.lower(): v for k, v in sc.attributes.items()}
    scheme = urlsplit(url).scheme
    host = host_of(url)
    if "secure" in attrs and scheme != "https" and host not in ("localhost", "127.0.0.1", "::1"):
        return f"it is Secure and {url} is not https"
    domain = attrs.get("domain")
    if domain and not domain_matches(host, domain):
        return f"Domain={domain} does not match the host {host}"
    if attrs.get("samesite", "").lower() == "none" and "secure" not in attrs:
        return "SameSite=None without Secure"
    if sc.name.startswith("__Host-") and (domain or attrs.get("path", "/") != "/" or "secure" not in attrs):
        return "the __Host- prefix needs Secure, Path=/ and no Domain"
    if sc.name.startswith("__Secure-") and "secure" not in attrs:
        return "the __Secure- prefix needs Secure"
    return None


def _too_large_fix(sc: SetCookie) -> str | None:
    """The fix for a cookie refused for its size, or None when its size was not the reason."""
    if "NameValuePairExceedsMaxSize" not in sc.blocked_reasons and (sc.size or 0) <= MAX_COOKIE_BYTES:
        return None
    return (
        f"Keep `{sc.name}` under {MAX_COOKIE_BYTES} bytes: store the session's data on the server (a "
        "server-side session store) and only its id in the cookie, or store less in the session."
    )


def _later_set(run: RunEvidence, after_id: int, name: str) -> bool:
    return any(sc.name == name for item in run.exchanges if item.id > after_id for sc in item.set_cookies)


def _set_in_run(run: RunEvidence, until: int) -> dict[str, tuple[Exchange, SetCookie]]:
    """The last non-deleting Set-Cookie of each name on the site's own responses before `until`."""
    target_site = site_of(run.expectations.protected_url)
    out: dict[str, tuple[Exchange, SetCookie]] = {}
    for item in run.exchanges:
        if item.id >= until or site_of(item.url) != target_site:
            continue
        for sc in item.set_cookies:
            if is_deletion(sc.attributes):
                out.pop(sc.name, None)
            else:
                out[sc.name] = (item, sc)
    return out


def _crossed_site(run: RunEvidence, ex: Exchange) -> str | None:
    """The first other site in the redirect chain that led to `ex`, if any."""
    for hop in run.redirect_chain(ex.id)[:-1]:
        if site_of(hop.url) != site_of(ex.url):
            return hop.url
    return None


@check(cause="cookie-blocked")
def cookie_blocked(ev: SiteEvidence) -> Iterator[Finding]:
    """The browser refused to store the session cookie, or stored it and did not send it, and why."""
    for run in failing_runs(ev):
        ex = protected_exchange(run)
        if ex is None or ex.from_cache:
            continue
        sent = set(sent_cookie_names(ex))
        # A server that says it saw no credentials (DRF's 403 "Authentication credentials were not
        # provided.") read no session in the cookies that did go (a CSRF cookie, preferences).
        said_none = says_not_authenticated(ex) is not None
        nothing_sent = not sent or said_none
        reported: set[str] = set()
        # 1. Refused at Set-Cookie.
        for item in auth_path(run):
            if item.id > ex.id:
                break
            for sc in item.set_cookies:
                if is_deletion(sc.attributes) or sc.name in sent or sc.name in reported:
                    continue
                if sc.stored is False:
                    reported.add(sc.name)
                    yield make_finding(
                        STATED if nothing_sent else INFERRED,
                        f"{run.engine} refused the cookie `{sc.name}` set by {item.method} {item.url} "
                        f"({_explain(sc.blocked_reasons) or 'no reason given'}), so {where(run, ex)} went "
                        f"without it and got {status_text(ex)}.",
                        _too_large_fix(sc)
                        or f"Fix the `{sc.name}` cookie's attributes on the server ({_attrs(sc)}) so the "
                        "browser accepts it for this host and scheme.",
                        run,
                        item,
                    )
                elif (
                    sc.stored is None
                    and not _in_jar(run.after.cookies, sc)
                    and not _later_set(run, item.id, sc.name)
                ):
                    why = _infer_not_stored(sc, item.url)
                    if why is None and not nothing_sent:
                        continue
                    reported.add(sc.name)
                    yield make_finding(
                        (INFERRED_STRONG if why else HEURISTIC_WEAK) if nothing_sent else HEURISTIC,
                        f"`{sc.name}` set by {item.method} {item.url} ({_attrs(sc)}) is not in "
                        f"{run.engine}'s "
                        f"cookie jar after the run{f': {why}' if why else ''}; {where(run, ex)} went without "
                        f"it and got {status_text(ex)}.",
                        _too_large_fix(sc)
                        or f"Fix the `{sc.name}` cookie's attributes on the server so the browser stores it "
                        f"for {host_of(item.url)}.",
                        run,
                        item,
                    )
        # 2. Stored and withheld, with the engine's reasons (Chromium).
        for hop in run.redirect_chain(ex.id):
            for withheld in hop.cookies_not_sent:
                if withheld.name in reported or withheld.name in sent_cookie_names(hop):
                    continue
                if not any(c.name == withheld.name for c in run.after.cookies):
                    continue
                benign = all(reason in BENIGN_NOT_SENT for reason in withheld.reasons)
                if benign and not nothing_sent:
                    continue
                reported.add(withheld.name)
                crossed = _crossed_site(run, hop)
                chain = f" (its redirect chain started at {crossed})" if crossed else ""
                # A Path or Domain that merely does not cover the URL is often right (a cookie for
                # /admin/ only), unless the server says the request came without credentials.
                benign_level = INFERRED if said_none else DIFFERENTIAL
                yield make_finding(
                    (benign_level if benign else STATED) if nothing_sent else DIFFERENTIAL,
                    f"{run.engine} had the cookie `{withheld.name}` but withheld it from {hop.method} "
                    f"{hop.url}"
                    f"{chain}: {_explain(withheld.reasons)}; the protected request got {status_text(ex)}.",
                    _fix_for(withheld.name, withheld.reasons),
                    run,
                    hop,
                )
        # 3. Stored and not sent, reasons inferred from attributes (engines without reasons).
        if not nothing_sent:
            continue
        path = urlsplit(ex.url).path or "/"
        for name, (item, _set) in _set_in_run(run, ex.id).items():
            if name in reported:
                continue
            jar = [
                c for c in run.after.cookies if c.name == name and domain_matches(host_of(ex.url), c.domain)
            ]
            if not jar:
                continue
            cookie = jar[0]
            why = None
            if not path_matches(path, cookie.path):
                why = f"its Path={cookie.path} does not cover {path}"
            elif cookie.secure and urlsplit(ex.url).scheme != "https":
                why = f"it is Secure and {ex.url} is not https"
            elif (cookie.same_site or "").lower() in ("strict", "lax") and _crossed_site(run, ex):
                why = (
                    f"it is SameSite={cookie.same_site} and the redirect chain to {ex.url} started at "
                    f"{_crossed_site(run, ex)}, another site"
                )
            if why is None:
                continue
            reported.add(name)
            yield make_finding(
                INFERRED,
                f"`{name}` was set by {item.method} {item.url} and is in {run.engine}'s jar, but "
                f"{where(run, ex)} "
                f"did not carry it: {why}; it got {status_text(ex)}.",
                _fix_for(
                    name,
                    ["NotOnPath" if "Path" in why else "SecureOnly" if "Secure" in why else "SameSiteStrict"],
                ),
                run,
                ex,
            )


def _in_jar(cookies: list[CookieRecord], sc: SetCookie) -> bool:
    return any(c.name == sc.name and c.value_fingerprint == sc.value_fingerprint for c in cookies) or any(
        c.name == sc.name and not sc.value_fingerprint for c in cookies
    )


# Set-Cookie attribute names as RFC 6265bis spells them.
ATTRIBUTE_NAMES = {
    "max-age": "Max-Age",
    "httponly": "HttpOnly",
    "samesite": "SameSite",
    "domain": "Domain",
    "path": "Path",
    "expires": "Expires",
    "secure": "Secure",
    "partitioned": "Partitioned",
}


def _attrs(sc: SetCookie) -> str:
    names = {k: ATTRIBUTE_NAMES.get(k.lower(), k.capitalize()) for k in sc.attributes}
    shown = [f"{names[k]}={v}" if v else names[k] for k, v in sc.attributes.items()]
    return "; ".join(shown) or "no attributes"


def _fix_for(name: str, reasons: list[str]) -> str:
    if any("SameSite" in r for r in reasons):
        return (
            f"Set `{name}` with SameSite=Lax (it is then sent on top-level navigations from other sites), or "
            "end the sign-in on a same-site page before redirecting to the protected URL."
        )
    if any("Secure" in r for r in reasons):
        return f"Serve the site over https (or drop Secure from `{name}` for a plain-http test setup)."
    if any("Path" in r for r in reasons):
        return f"Give `{name}` a Path that covers the protected URL (usually Path=/)."
    if any("Partition" in r or "ThirdParty" in r for r in reasons):
        return (
            f"Set `{name}` from the top-level site the user visits, not from an embedded or third-party "
            "origin."
        )
    return f"Fix the `{name}` cookie's Domain/Path/Secure/SameSite attributes for this host."


# -- the way back from another site (an identity provider's redirect or form_post) ------------------


def _arrived_from(run: RunEvidence, ex: Exchange) -> str | None:
    """Where a navigation came from when that is another site, or None.

    Read from the redirect chain (an identity provider's 302/303 back), else from the request's own
    Origin or Referer, else from `Sec-Fetch-Site: cross-site` (both engines send it on navigations).
    """
    crossed = _crossed_site(run, ex)
    if crossed:
        return origin_of(crossed)
    sender = ex.request_header("origin") or ex.request_header("referer")
    if sender and sender != "null" and site_of(sender) != site_of(ex.url):
        return origin_of(sender)
    if (ex.request_header("sec-fetch-site") or "").lower() == "cross-site":
        return origin_of(sender) if sender and sender != "null" else "another site"
    return None


def _held_at(run: RunEvidence, ex: Exchange) -> dict[str, tuple[str, Exchange | None]]:
    """Cookies the jar held for `ex`'s URL when it was sent: name -> (SameSite as set, who set it).

    A cookie set earlier in the run (and neither refused nor deleted since), or one the profile held
    before the run and nothing in the run replaced or deleted. The jar after the run cannot tell:
    apps delete a transaction cookie on the very response that missed it.
    """
    host, path = host_of(ex.url), urlsplit(ex.url).path or "/"
    held: dict[str, tuple[str, Exchange | None]] = {}
    for cookie in run.before.cookies:
        if domain_matches(host, cookie.domain) and path_matches(path, cookie.path):
            held[cookie.name] = (cookie.same_site or "", None)
    for item in run.exchanges:
        if item.id >= ex.id:
            break
        for sc in item.set_cookies:
            domain = sc.attributes.get("domain") or host_of(item.url)
            if not domain_matches(host, domain) or not path_matches(path, sc.attributes.get("path", "/")):
                continue
            if is_deletion(sc.attributes) or sc.stored is False:
                held.pop(sc.name, None)
            else:
                held[sc.name] = (sc.attributes.get("samesite", ""), item)
    return held


def _withheld_on_return(run: RunEvidence, ex: Exchange) -> list[tuple[str, str, list[str], Exchange | None]]:
    """(cookie, SameSite as set, reasons, setter) of cookies left off a navigation from another site.

    The engine's own reasons when it gives them (Chromium's blocked-cookie reasons); otherwise the
    rule of RFC 6265bis §5.8.3: SameSite=Strict cookies stay off a navigation another site started,
    and SameSite=Lax ones off a cross-site POST (an identity provider's form_post).
    """
    held = _held_at(run, ex)
    sent = set(sent_cookie_names(ex))
    out: list[tuple[str, str, list[str], Exchange | None]] = []
    named: set[str] = set()
    for withheld in ex.cookies_not_sent:
        same_site_reasons = [r for r in withheld.reasons if "SameSite" in r]
        if same_site_reasons and withheld.name not in sent and withheld.name not in named:
            named.add(withheld.name)
            attribute, setter = held.get(withheld.name, ("", None))
            out.append((withheld.name, attribute, same_site_reasons, setter))
    for name, (attribute, setter) in held.items():
        if name in sent or name in named:
            continue
        value = attribute.lower()
        if value == "strict":
            out.append((name, attribute, ["SameSiteStrict"], setter))
        elif value == "lax" and ex.method.upper() == "POST":
            out.append((name, attribute, ["SameSiteLax"], setter))
    return out


def _return_fix(name: str, reasons: list[str], method: str, origin: str) -> str:
    if method.upper() == "POST" or any("Lax" in r for r in reasons):
        return (
            f"The way back from {origin} is a cross-site POST (form_post), which no SameSite=Lax or Strict "
            f"cookie survives: set `{name}` with `SameSite=None; Secure` (over https), or have the "
            "provider return with a GET (response_mode=query), which Lax cookies survive."
        )
    return (
        f"Set `{name}` with SameSite=Lax (or None; Secure): a Strict cookie is never sent on the "
        f"navigation back from {origin}, so the callback cannot find it."
    )


@check(cause="cookie-blocked")
def cookie_withheld_on_return(ev: SiteEvidence) -> Iterator[Finding]:
    """A cookie the site set stayed off the navigation back from another site, and that request failed."""
    for run in failing_runs(ev):
        if not observable(run, "cookies_sent"):
            continue  # "left off" needs the Cookie header this engine does not show
        ex = protected_exchange(run)
        on_protected_chain = {hop.id for hop in run.redirect_chain(ex.id)} if ex is not None else set()
        target_site = site_of(run.expectations.protected_url)
        for item in auth_path(run):
            if item.id in on_protected_chain:
                continue  # cookie_blocked reads the protected request's own chain
            status = effective_status(item)
            if status is None or status < 400 or site_of(item.url) != target_site:
                continue
            if not (item.is_navigation or item.resource_type == "document"):
                continue
            if "error" in dict(parse_qsl(urlsplit(item.url).query)):
                continue  # the provider sent an OAuth error back (RFC 6749 §4.1.2.1): its own failure
            origin = _arrived_from(run, item)
            if origin is None:
                continue
            found = _withheld_on_return(run, item)
            if not found:
                continue
            name, attribute, reasons, setter = found[0]
            stated = any(name == w.name for w in item.cookies_not_sent)
            set_by = f" (set by {setter.method} {setter.url}" if setter is not None else " (held from before"
            set_by += f", SameSite={attribute})" if attribute else ", no SameSite attribute)"
            said = server_says(item)
            quoted = f", saying: {said[:120]}" if said else ""
            then = (
                f"; then {where(run, ex)} got {status_text(ex)}"
                if ex is not None and ex.id != item.id
                else ""
            )
            how = (
                "as the engine reported"
                if stated
                else f"read from its attributes; {run.engine} gives no reasons"
            )
            yield make_finding(
                STATED if stated else INFERRED_STRONG,
                f"{run.engine} held the cookie `{name}`{set_by} but left it off {item.method} {item.url}, "
                f"a navigation back from {origin} ({how}: {_explain(reasons)}); that request got "
                f"{status_text(item)}{quoted}{then}.",
                _return_fix(name, reasons, item.method, origin),
                run,
                item,
            )
            break  # the first failed return explains the run
