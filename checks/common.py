"""Reading helpers every check shares: which runs failed, which exchange decided, what was sent.

Everything here reads evidence only and is engine-neutral; the few engine quirks a check must know
about (Chromium's net-error 401s, Firefox's cache heuristic) are handled in one place each, here.

Over 400 lines on purpose: it is the one reading vocabulary every check imports (runs, exchanges,
credentials, messages, engine limits, one section each), so that no check restates a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from ipaddress import ip_address
from urllib.parse import parse_qsl, urlsplit

from loginprobe.checks.registry import running
from loginprobe.evidence import (
    REALM_PROBE,
    Challenge,
    Engine,
    Exchange,
    Header,
    RunEvidence,
    SiteEvidence,
    header_value,
    header_values,
    origin_of,
    same_resource,
)
from loginprobe.parsing import html_text
from loginprobe.secrets import FINGERPRINT_RE
from loginprobe.verdict import CauseId, Finding

# RFC 9110 leaves clock agreement to the parties; 60 s is the usual leeway of JWT libraries
# (PyJWT `leeway`, Keycloak's and Auth0's defaults are in that range).
CLOCK_SKEW_S = 60.0

# Chromium turns a 401 navigation it cannot answer into a net error; the status may be missing then.
AUTH_NET_ERRORS = ("ERR_INVALID_AUTH_CREDENTIALS", "ERR_UNEXPECTED_PROXY_AUTH")

# The Authorization scheme a configured flow answers with (others carry credentials differently).
FLOW_SCHEME: dict[str, str] = {"basic": "basic", "digest": "digest", "bearer": "bearer"}

# Flows whose credential is a session the site sets after a login submission.
SESSION_FLOWS = ("form", "oidc", "script")


def make_finding(
    confidence: float,
    summary: str,
    next_step: str,
    run: RunEvidence | None = None,
    exchange: Exchange | None = None,
    engines: Iterable[Engine] | None = None,
    *,
    cause: CauseId | None = None,
) -> Finding:
    """A Finding of the running check, pointing at the run and exchange that show it.

    The cause and check name come from the check's `@check(cause=...)`; `cause` is given only by a
    check whose cause is what it found (engine_difference names the difference between engines).
    """
    spec = running()
    if engines is None:
        engine_list: list[Engine] = [run.engine] if run is not None else []
    else:
        engine_list = sorted(set(engines))
    return Finding(
        cause=cause or spec.cause,
        check=spec.name,
        confidence=round(min(1.0, max(0.0, confidence)), 2),
        summary=summary,
        run_id=run.run_id if run is not None else None,
        exchange_id=exchange.id if exchange is not None else None,
        next_step=next_step,
        engines=engine_list,
    )


# -- runs ------------------------------------------------------------------------------------------


def primary_runs(ev: SiteEvidence) -> list[RunEvidence]:
    """Runs that judge the site: every run except the differential (ablated) ones, proxied included."""
    return [r for r in ev.runs if r.ablation is None]


def failing_runs(ev: SiteEvidence) -> list[RunEvidence]:
    return [r for r in primary_runs(ev) if not r.outcome.success]


def passing_runs(ev: SiteEvidence) -> list[RunEvidence]:
    return [r for r in primary_runs(ev) if r.outcome.success]


def source_run(ev: SiteEvidence, ablated: RunEvidence) -> RunEvidence | None:
    """The plain run a differential run was derived from (same engine, mode and proxy setting)."""
    for r in ev.runs:
        if (
            r.ablation is None
            and r.engine == ablated.engine
            and r.mode == ablated.mode
            and r.via_proxy == ablated.via_proxy
        ):
            return r
    return None


def ablations_of(ev: SiteEvidence, run: RunEvidence) -> dict[str, RunEvidence]:
    """The differential runs derived from `run`, by ablation."""
    return {
        r.ablation: r
        for r in ev.runs
        if r.ablation is not None
        and r.engine == run.engine
        and r.mode == run.mode
        and r.via_proxy == run.via_proxy
    }


def protected_exchange(run: RunEvidence) -> Exchange | None:
    """The exchange that decided the run, or the last request for the protected URL."""
    decided = run.protected
    if decided is not None:
        return decided
    wanted = run.expectations.protected_url
    candidates = [ex for ex in run.exchanges if same_resource(ex.url, wanted)]
    return candidates[-1] if candidates else None


def before(run: RunEvidence, ex: Exchange) -> list[Exchange]:
    """Exchanges issued before `ex` in the run."""
    return [item for item in run.exchanges if item.id < ex.id]


# -- the auth path ---------------------------------------------------------------------------------


def on_auth_path(run: RunEvidence, ex: Exchange) -> bool:
    """Whether an exchange is part of the login, the only place a cause may come from.

    The auth path is: the login page and every navigation (redirects, the identity provider, the
    callback); every submission (a form or token POST); every hop of a redirect chain; the protected
    request; the identity provider's origin; the site's own responses that set cookies; and the
    requests that carry credentials or were asked for them (a challenge, 401 or 407). A stylesheet,
    font or image from another host that fails is context, never a cause: closed CI networks fail
    them all the time.
    """
    exp = run.expectations
    if ex.is_navigation or ex.resource_type == "document":
        return True
    if ex.method.upper() not in ("GET", "HEAD", "OPTIONS"):
        return True
    status = effective_status(ex)
    if ex.redirected_from is not None or (status is not None and 300 <= status < 400):
        return True
    if same_resource(ex.url, exp.protected_url) or same_resource(ex.url, exp.start_url):
        return True
    if exp.issuer and origin_of(ex.url) == origin_of(exp.issuer):
        return True
    if ex.challenges or ex.proxy_challenges or status in (401, 407):
        return True
    if ex.set_cookies and site_of(ex.url) == site_of(exp.protected_url):
        return True  # the site's own cookies (a session or CSRF cookie a script's request set)
    if supplied_credential(run, ex) is not None:
        return True  # a token endpoint, or an app's config that hands its scripts a key
    return credential_sent(run, ex) is not None


# A redacted value in an artifact (loginprobe.secrets.fingerprint): the same secret, the same mark.
SECRET_MARK = FINGERPRINT_RE  # the fingerprint shape, defined once in loginprobe.secrets


def secrets_sent(ex: Exchange) -> set[str]:
    """The marks of the secrets a request carried (headers, URL, Authorization)."""
    sent = set(SECRET_MARK.findall(" ".join(value for _, value in ex.request_headers)))
    sent.update(SECRET_MARK.findall(ex.url))
    if ex.authorization is not None:
        sent.add(ex.authorization.fingerprint)
    return sent


def secrets_held(run: RunEvidence, ex: Exchange) -> set[str]:
    """The marks of the secrets a response's body held (a token, a key, a JWT)."""
    held = set(SECRET_MARK.findall(ex.body_excerpt or ""))
    held.update(j.fingerprint for j in run.jwts if j.exchange_id == ex.id)
    return held


def supplied_credential(run: RunEvidence, ex: Exchange, to: Exchange | None = None) -> str | None:
    """The mark of a secret that `ex`'s body held and a later request (`to`, or any) then sent."""
    held = secrets_held(run, ex)
    if not held:
        return None
    later = [to] if to is not None else [item for item in run.exchanges if item.id > ex.id]
    for item in later:
        common = sorted(held & secrets_sent(item))
        if common:
            return common[0]
    return None


def auth_path(run: RunEvidence) -> list[Exchange]:
    """The run's exchanges on the auth path (see `on_auth_path`), in order."""
    return [ex for ex in run.exchanges if on_auth_path(run, ex)]


def off_path_failures(run: RunEvidence) -> list[Exchange]:
    """Exchanges off the auth path that failed (no response, or an error status): context only."""
    return [
        ex
        for ex in run.exchanges
        if not on_auth_path(run, ex) and (ex.failure is not None or (ex.status or 0) >= 400)
    ]


def realm_probes(run: RunEvidence) -> list[tuple[str, Challenge | None, Exchange | None]]:
    """What flows/realm.py found at the origin's other paths: (url, its challenge, the answer to the
    same credentials there, when they were tried), in the order probed."""
    found: dict[str, tuple[Challenge | None, Exchange | None]] = {}
    for ex in run.exchanges:
        if ex.resource_type != REALM_PROBE:
            continue
        challenge, answer = found.get(ex.url, (None, None))
        if ex.authorization is None:
            challenge = ex.challenges[0] if ex.challenges else None
        else:
            answer = ex
        found[ex.url] = (challenge, answer)
    return [(url, challenge, answer) for url, (challenge, answer) in found.items()]


def accepted_elsewhere(run: RunEvidence) -> tuple[str, Challenge | None, Exchange] | None:
    """The first other path of the origin where the run's refused HTTP credentials were accepted."""
    for url, challenge, answer in realm_probes(run):
        if answer is not None and ok_status(answer.status):
            return url, challenge, answer
    return None


def named_realm(ex: Exchange) -> Challenge | None:
    """The first challenge of the answer that names a realm."""
    return next((ch for ch in ex.challenges if ch.realm is not None), None)


def same_protection_space(here: Challenge | None, there: Challenge | None) -> bool:
    """Both challenges name the same realm with the same scheme. A realm on one origin is one protection
    space (RFC 9110 §11.5): credentials it accepts at one path are valid for the whole space."""
    return (
        here is not None
        and there is not None
        and here.realm is not None
        and here.realm == there.realm
        and here.scheme.lower() == there.scheme.lower()
    )


def accepted_in_own_realm(run: RunEvidence, ex: Exchange) -> tuple[str, Challenge, Exchange] | None:
    """Another path of the origin, in the realm that refused `ex`, that accepted the same credentials."""
    here = named_realm(ex)
    for url, challenge, answer in realm_probes(run):
        if answer is None or challenge is None or not ok_status(answer.status):
            continue
        if same_protection_space(here, challenge):
            return url, challenge, answer
    return None


# -- statuses --------------------------------------------------------------------------------------


def effective_status(ex: Exchange) -> int | None:
    """The status, or 401 when Chromium swallowed a 401 into an auth net error."""
    if ex.status is not None:
        return ex.status
    if ex.failure and any(code in ex.failure for code in AUTH_NET_ERRORS):
        return 401
    return None


def is_rejection(ex: Exchange) -> bool:
    return effective_status(ex) == 401


def status_text(ex: Exchange) -> str:
    status = effective_status(ex)
    if ex.status is None and status is not None:
        return f"{status} (recorded as {ex.failure})"
    if status is None:
        return f"no response ({ex.failure or 'unknown error'})"
    return str(status)


def ok_status(status: int | None) -> bool:
    return status is not None and 200 <= status < 400


def is_redirect(ex: Exchange) -> bool:
    """A redirect with a Location to follow (3xx other than 304 Not Modified)."""
    return ex.status is not None and 300 <= ex.status < 400 and ex.status != 304


# -- what an engine can show -----------------------------------------------------------------------

# What each kind an engine may list in `RunEvidence.not_observable` is, in the verdict's words.
UNOBSERVABLE_TEXT: dict[str, str] = {
    "cookies_sent": "which cookies each request carried",
    "set_cookies": "the Set-Cookie headers of responses",
    "cookies_not_sent": "why it withheld a stored cookie from a request",
    "challenge_headers": "the headers of the 401s it answered itself (Basic, Digest)",
}


def observable(run: RunEvidence, item: str) -> bool:
    """Whether this run's engine can show `item` at all; where it cannot, an empty list is "not seen"."""
    return item not in run.not_observable


def unobservable(run: RunEvidence) -> str:
    """What this run's engine could not observe, in words ("" when it shows everything)."""
    items = [UNOBSERVABLE_TEXT.get(item, item.replace("_", " ")) for item in run.not_observable]
    return ", ".join(items[:-1]) + f" or {items[-1]}" if len(items) > 1 else "".join(items)


# -- what a request carried ------------------------------------------------------------------------


def where(run: RunEvidence, ex: Exchange) -> str:
    return f"{ex.method} {ex.url} in {run.label}"


def cookie_pairs(ex: Exchange) -> list[tuple[str, str]]:
    """(name, value fingerprint) of every cookie the request sent, in header order, repeats kept."""
    pairs: list[tuple[str, str]] = []
    for value in header_values(ex.request_headers, "cookie"):
        for part in value.split(";"):
            name, sep, rest = part.strip().partition("=")
            if name and sep:
                pairs.append((name, rest.strip()))
    if not pairs:
        pairs = [(name, "") for name in ex.cookies_sent]
    return pairs


def sent_cookie_names(ex: Exchange) -> list[str]:
    return list(ex.cookies_sent) or [name for name, _ in cookie_pairs(ex)]


def api_key_sent(run: RunEvidence, ex: Exchange) -> str | None:
    """Where the configured API key travelled on this request ("header X-API-Key"), or None."""
    name = run.expectations.api_key_name
    if not name:
        return None
    if header_value(ex.request_headers, name) is not None:
        return f"header {name}"
    query = dict(parse_qsl(urlsplit(ex.url).query, keep_blank_values=True))
    for key, value in query.items():
        if key.lower() == name.lower() and value:
            return f"query parameter {key}"
    return None


def hides_http_auth(run: RunEvidence) -> bool:
    """The engine answers Basic/Digest challenges where capture cannot see them (Chromium): a final
    answer without a challenge may still have come after one it answered."""
    return "authorization" in {name.lower() for name in run.hidden_request_headers}


def answered_below_capture(run: RunEvidence, ex: Exchange) -> str | None:
    """The configured HTTP credentials the engine sent for `ex` where capture cannot see them, or None.

    Chromium answers Basic/Digest challenges inside its network stack (`hidden_request_headers` names
    `authorization`): the answered 401 and the Authorization never reach DevTools. When such a run was
    given the flow's credentials, the engine answered every challenge of that scheme, so the request
    carried them when the response is a success (not a redirect) or still challenges that scheme (the
    server asked again: it refused them). A Digest challenge with stale=true asks only for a new nonce.
    """
    exp = run.expectations
    wanted = FLOW_SCHEME.get(exp.flow)
    if (
        wanted not in ("basic", "digest")
        or not exp.credentials_configured
        or not hides_http_auth(run)
        or ex.authorization is not None
        or header_value(ex.request_headers, "authorization") is not None
    ):
        return None
    challenged = any(
        ch.scheme.lower() == wanted and ch.params.get("stale", "").lower() != "true" for ch in ex.challenges
    )
    # A redirect proves nothing: a server sends it before (or without) asking for credentials.
    passed = ok_status(ex.status) and not is_redirect(ex)
    if not challenged and not (passed and same_resource(ex.url, exp.protected_url)):
        return None
    return (
        f"the configured {wanted.capitalize()} username and password ({run.engine} answers the challenge "
        "inside its network stack, so that Authorization is not in the capture)"
    )


def credential_sent(run: RunEvidence, ex: Exchange) -> str | None:
    """A short description of the credential the request carried, or None when it carried none."""
    hidden = answered_below_capture(run, ex)
    if hidden is not None:
        return hidden
    if ex.authorization is not None:
        who = f" for {ex.authorization.identity}" if ex.authorization.identity else ""
        return f"Authorization: {ex.authorization.scheme} {ex.authorization.fingerprint}{who}"
    if header_value(ex.request_headers, "authorization") is not None:
        return "an Authorization header"
    key = api_key_sent(run, ex)
    if key:
        return f"the API key in the {key}"
    for name, value in ex.request_headers:
        mark = SECRET_MARK.search(value) if name.lower() != "cookie" else None
        if mark is not None:  # a header the redactor knew as secret (a key an app's script attached)
            return f"a secret in the {name} header ({mark.group(0)})"
    names = sent_cookie_names(ex)
    if names:
        return "cookies " + ", ".join(dict.fromkeys(names))
    return None


# -- login submissions (form, OIDC, script flows) --------------------------------------------------


def login_submissions(run: RunEvidence, until: Exchange | None = None) -> list[Exchange]:
    """POST requests before the protected one: where a form or an identity provider took credentials."""
    limit = until.id if until is not None else None
    return [
        ex
        for ex in run.exchanges
        if ex.method.upper() == "POST"
        and (limit is None or ex.id < limit)
        and not same_resource(ex.url, run.expectations.protected_url)
        and not _third_party_post(run, ex)
    ]


def _third_party_post(run: RunEvidence, ex: Exchange) -> bool:
    """A script's POST to another origin than its page's (an analytics beacon, a tracker) that neither
    set a cookie nor handed out a secret, sent from another site or from a page other than the login
    page: no login takes credentials that way, so its 401 is noise."""
    if ex.is_navigation or ex.resource_type == "document" or not ex.frame_url:
        return False
    if ex.origin == origin_of(ex.frame_url) or ex.set_cookies:
        return False
    issuer = run.expectations.issuer
    if (issuer and ex.origin == origin_of(issuer)) or supplied_credential(run, ex) is not None:
        return False
    if site_of(ex.url) != site_of(ex.frame_url):
        return True
    # Same site, another origin (api.example.com from app.example.com): a login API when the login
    # page itself called it, a beacon when an app page did.
    return urlsplit(ex.frame_url).path != urlsplit(run.expectations.start_url).path


# How login pages say that the credentials were refused (the quoted message shows whatever it says).
REFUSAL_WORDS = re.compile(
    r"\b(invalid|incorrect|wrong|unknown user|no such user|bad credentials|not recogni[sz]ed"
    r"|(enter|use) (a|the) (correct|valid)|(do|does|did)(n'?t| not) match|failed|unsuccessful"
    r"|denied|try again|(unable|could ?n[o']t|cannot|can'?t) (log|sign))",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class LoginRefusal:
    """A login submission the site refused, and what it answered."""

    submission: Exchange  # the POST that carried the credentials
    answer: Exchange  # the response that refused them: the POST itself, or the page it led to
    message: str | None  # the site's own words, quoted from the answer
    form_again: bool  # the answer was the login form shown again (not a 401/403)


def _landing(run: RunEvidence, ex: Exchange) -> Exchange:
    """The last hop of the redirect chain that starts at `ex`."""
    following = {item.redirected_from: item for item in run.exchanges if item.redirected_from is not None}
    current = ex
    for _ in range(20):
        nxt = following.get(current.id)
        if nxt is None:
            break
        current = nxt
    return current


def quote(text: str, rx: re.Pattern[str], limit: int = 200) -> str | None:
    """The sentence of `text` in which `rx` matches first, or None."""
    found = rx.search(text)
    if found is None:
        return None
    start = max(text.rfind(stop, 0, found.start()) for stop in (". ", "! ", "? ", "\n")) + 1
    ends = [i + 1 for i in (text.find(stop, found.end()) for stop in (".", "!", "?")) if i >= 0]
    line_end = text.find("\n", found.end())
    ends += [line_end] if line_end >= 0 else []
    end = min(ends) if ends else len(text)
    return text[start:end].strip()[:limit]


def login_refusal(run: RunEvidence, until: Exchange | None = None) -> LoginRefusal | None:
    """How the last login submission (before `until`) was refused, or None when it was not.

    Refused means: the submission was answered 401 or 403 (or 400/422 with words that refuse the
    credentials), or it led (directly, or by redirects) back to the login form's page with such a
    message, or without one and without setting any cookie on the way. Cookie-session apps commonly
    answer either way, without any WWW-Authenticate challenge.
    """
    submissions = login_submissions(run, until)
    if not submissions:
        return None
    submission = submissions[-1]
    status = effective_status(submission)
    text = body_text(submission.body_excerpt or "")
    if status in (401, 403):
        return LoginRefusal(
            submission, submission, quote(text, REFUSAL_WORDS) or server_says(submission), False
        )
    worded = quote(text, REFUSAL_WORDS)
    if status in (400, 422) and worded is not None:
        # Many login APIs answer a wrong password 400 or 422 with the reason in the body
        # (json-server-auth "Incorrect password", OAuth's token endpoint `invalid_grant`).
        return LoginRefusal(submission, submission, worded.strip('"'), False)  # a JSON string's quotes
    landing = _landing(run, submission)
    if not ok_status(landing.status) or (landing.status or 0) >= 300:
        return None
    form_pages = {urlsplit(submission.url).path, urlsplit(run.expectations.start_url).path}
    if urlsplit(landing.url).path not in form_pages:
        return None
    message = quote(body_text(landing.body_excerpt or ""), REFUSAL_WORDS)
    if message is None:
        # No words (Apache mod_auth_form's stock form, for one), yet no session either: the form came
        # back and nothing on the way to it set a cookie.
        if "set_cookies" in run.not_observable:
            return None  # this engine cannot show Set-Cookie: "no cookie set" is not known
        chain = run.redirect_chain(landing.id)
        if any(not is_deletion(sc.attributes) for ex in chain for sc in ex.set_cookies):
            return None
    return LoginRefusal(submission, landing, message, True)


def rejected_submission(run: RunEvidence, until: Exchange | None = None) -> Exchange | None:
    """The answer with which the site refused the last login submission (see `login_refusal`)."""
    refusal = login_refusal(run, until)
    return refusal.answer if refusal is not None else None


def accepted_submission(run: RunEvidence, until: Exchange | None = None) -> Exchange | None:
    """The last login submission the server answered with a redirect or success and a Set-Cookie."""
    if login_refusal(run, until) is not None:
        return None
    for ex in reversed(login_submissions(run, until)):
        if ok_status(ex.status) and any(not is_deletion(sc.attributes) for sc in ex.set_cookies):
            return ex
    return None


def is_deletion(attributes: dict[str, str]) -> bool:
    """A Set-Cookie that removes the cookie (Max-Age<=0 or Expires in the past per the server)."""
    max_age = attributes.get("max-age")
    if max_age is not None:
        try:
            return int(max_age) <= 0
        except ValueError:
            return False
    expires = attributes.get("expires")
    if expires:
        try:
            return parsedate_to_datetime(expires).year < 1980
        except (TypeError, ValueError):
            return False
    return False


# -- headers ---------------------------------------------------------------------------------------


def cache_directives(headers: list[Header]) -> dict[str, str]:
    """Cache-Control directives, lower-cased names; flags map to ""."""
    out: dict[str, str] = {}
    for value in header_values(headers, "cache-control"):
        for part in value.split(","):
            name, _, arg = part.strip().partition("=")
            if name:
                out[name.strip().lower()] = arg.strip().strip('"')
    return out


def vary_fields(headers: list[Header]) -> set[str]:
    fields: set[str] = set()
    for value in header_values(headers, "vary"):
        fields.update(part.strip().lower() for part in value.split(",") if part.strip())
    return fields


# Per-response random values of a challenge (RFC 7616 §3.3): noise to a reader, and never the cause.
NOISE_PARAMS = frozenset({"nonce", "opaque", "cnonce"})


def describe_challenge(ch: Challenge) -> str:
    parts = [f'{key}="{value}"' for key, value in ch.params.items() if key.lower() not in NOISE_PARAMS]
    if ch.token68:
        parts.insert(0, ch.token68)
    return f"{ch.scheme} {', '.join(parts)}".strip()


def describe_challenges(challenges: list[Challenge]) -> str:
    return "; ".join(describe_challenge(ch) for ch in challenges)


def error_texts(ex: Exchange) -> list[str]:
    """What the server said about the failure: challenge error fields and the body excerpt."""
    texts: list[str] = []
    for ch in ex.challenges:
        texts.extend(v for k, v in ch.params.items() if k.lower() in ("error", "error_description"))
    if ex.body_excerpt:
        texts.append(ex.body_excerpt)
    return texts


def server_says(ex: Exchange) -> str | None:
    """The server's own words about the failure: error_description, else error, else the body excerpt."""
    for name in ("error_description", "error"):
        for ch in ex.challenges:
            value = ch.params.get(name)
            if value:
                return value
    text = " ".join(body_text(ex.body_excerpt or "").split())
    return text or None


# How servers say that a request reached them without credentials they know (DRF's "Authentication
# credentials were not provided.", Spring's "Full authentication is required", Laravel's
# "Unauthenticated."): whatever cookies it carried, the server saw no session or token in them.
NOT_AUTHENTICATED_WORDS = re.compile(
    r"credentials (were|are) not (provided|supplied|present)|\bnot authenticated\b|\bunauthenticated\b"
    r"|(full )?authentication (is )?required|\blogin required\b|\bnot (logged|signed) in\b"
    r"|(need|have|must) (to )?(log|sign) ?in\b|\bno (credentials|session|token)s? (were )?"
    r"(provided|supplied|found|present)",
    re.IGNORECASE,
)


def says_not_authenticated(ex: Exchange) -> str | None:
    """The server's words when it says the request was not authenticated at all, or None."""
    for text in error_texts(ex):
        # A JSON error's own string ({"detail": "..."}), else the sentence of a page's text.
        for words in [*re.findall(r'"((?:[^"\\]|\\.)*)"', text), body_text(text)]:
            found = quote(words, NOT_AUTHENTICATED_WORDS, 160)
            if found:
                return found
    return None


def body_text(body: str) -> str:
    """A response body excerpt as a reader sees it: an HTML page's visible text, whitespace collapsed."""
    return html_text(body)


def mentions(texts: Iterable[str], pattern: str) -> str | None:
    """The first text matching `pattern` (case-insensitive), or None."""
    rx = re.compile(pattern, re.IGNORECASE)
    for text in texts:
        if rx.search(text):
            return text
    return None


# -- time and places -------------------------------------------------------------------------------


def fmt_time(moment: datetime | None) -> str:
    if moment is None:
        return "unknown"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment.utcoffset() is not None else moment.isoformat()


def fmt_duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def site_of(url: str) -> str:
    """The scheme and registrable part of a URL's host, close to the "site" of RFC 6265bis.

    Without the Public Suffix List this keeps the last two labels, which is right for the common
    `example.com` case and conservative (treats more as cross-site) for `co.uk`-style suffixes.
    """
    host = host_of(url)
    try:
        ip_address(host.strip("[]"))
        registrable = host
    except ValueError:
        labels = host.split(".")
        registrable = ".".join(labels[-2:]) if len(labels) > 1 else host
    return f"{urlsplit(url).scheme}://{registrable}"


def authorization_request(url: str) -> bool:
    """An OAuth 2.0 authorization request (RFC 6749 §4.1.1: `response_type` and `client_id`) or a SAML
    AuthnRequest: the site sending the browser to its identity provider, by design."""
    params = {name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    return {"response_type", "client_id"} <= params or "SAMLRequest" in params


def authorization_response(url: str) -> bool:
    """The identity provider's answer to an authorization request, at the app's callback (RFC 6749
    §4.1.2: `code` or `error`, with the request's `state`)."""
    params = {name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    return "state" in params and bool(params & {"code", "error"})


def domain_matches(host: str, domain: str) -> bool:
    """RFC 6265 §5.1.3 domain-match (a leading dot is ignored)."""
    host, domain = host.lower(), domain.lower().lstrip(".")
    if host == domain:
        return True
    try:
        ip_address(host.strip("[]"))
        return False  # an IP address only matches itself
    except ValueError:
        return host.endswith("." + domain)


def path_matches(path: str, cookie_path: str) -> bool:
    """RFC 6265 §5.1.4 path-match."""
    path = path or "/"
    if path == cookie_path:
        return True
    if path.startswith(cookie_path):
        return cookie_path.endswith("/") or path[len(cookie_path)] == "/"
    return False


def iter_exchanges(runs: Iterable[RunEvidence]) -> Iterator[tuple[RunEvidence, Exchange]]:
    """Every exchange on the auth path of these runs, with its run."""
    for run in runs:
        for ex in auth_path(run):
            yield run, ex


def unanswerable_challenge(run: RunEvidence, ex: Exchange) -> Challenge | None:
    """A challenge the flow answers but this engine never does (`unanswerable_schemes`), left unanswered.

    The flows record such limits as evidence (Firefox over WebDriver BiDi never answers Digest from
    http_credentials); only the scheme the configured flow answers with counts, since a challenge of
    another scheme is wrong-auth-scheme's evidence, whatever the engine.
    """
    if ex.authorization is not None or header_value(ex.request_headers, "authorization") is not None:
        return None
    limits = {scheme.lower() for scheme in run.unanswerable_schemes}
    wanted = FLOW_SCHEME.get(run.expectations.flow)
    for ch in ex.challenges:
        if ch.scheme.lower() in limits and ch.scheme.lower() == wanted:
            return ch
    return None


def engine_limited(run: RunEvidence) -> bool:
    """The run failed only because the engine cannot answer the server's challenge."""
    ex = protected_exchange(run)
    return (
        not run.outcome.success
        and ex is not None
        and is_rejection(ex)
        and unanswerable_challenge(run, ex) is not None
    )
