"""Pure parsers for what a login exchange carries: challenges, cookies, Authorization, dates, page text.

No browser here: the recorder hands raw header values in and gets evidence models out. Every parser
takes whatever a server or browser sent and never raises on it: a malformed header is evidence too,
so each returns what it can recover. Secret values (cookie values, credentials, tokens) are
registered with the run's `Redactor` and only their fingerprints leave this module.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import unquote

from loginprobe.evidence import AuthorizationSent, Challenge, SetCookie
from loginprobe.jwts import as_utc, unverified_jwt
from loginprobe.secrets import Redactor

if TYPE_CHECKING:
    pass

# RFC 9110 §5.6.2 token characters, and §11.2's token68 (base64 and base64url alphabets, `=` padding).
_TCHAR = frozenset("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)
_TOKEN68 = frozenset("-._~+/" + string.ascii_letters + string.digits)
_PADDING = frozenset("=")
# Optional whitespace (RFC 9110 §5.6.3) plus CR/LF, so an obs-folded value still parses.
_WS = " \t\r\n"

# Registered schemes (IANA HTTP Authentication Scheme Registry plus common private ones): an
# Authorization value of one bare word is a scheme only if it is one of these, otherwise it is
# treated as a credential sent without a scheme, so that it is fingerprinted rather than shown.
_KNOWN_SCHEMES = frozenset(
    s.lower()
    for s in (
        "Basic",
        "Bearer",
        "Digest",
        "DPoP",
        "HOBA",
        "Mutual",
        "Negotiate",
        "NTLM",
        "OAuth",
        "SCRAM-SHA-1",
        "SCRAM-SHA-256",
        "vapid",
        "Token",
        "ApiKey",
        "AWS4-HMAC-SHA256",
        "Concealed",
        "PrivateToken",
    )
)

# -- WWW-Authenticate / Proxy-Authenticate ------------------------------------------------------


class _Scanner:
    """A cursor over one header value."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def done(self) -> bool:
        """True at the end of the value."""
        return self.pos >= len(self.text)

    def peek(self) -> str:
        """The next character, or "" at the end."""
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self, chars: str) -> None:
        """Advance over any run of `chars`."""
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1

    def take(self, allowed: frozenset[str]) -> str:
        """Consume and return the longest run of `allowed` characters."""
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in allowed:
            self.pos += 1
        return self.text[start : self.pos]

    def token68(self) -> str:
        """Consume a token68 (RFC 9110 §11.2), or nothing."""
        body = self.take(_TOKEN68)
        return body + self.take(_PADDING) if body else ""

    def quoted_string(self) -> str:
        """Consume a quoted-string (RFC 9110 §5.6.4) starting at `"`; unterminated ones run to the end."""
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == "\\" and self.pos < len(self.text):
                out.append(self.text[self.pos])
                self.pos += 1
            elif char == '"':
                break
            else:
                out.append(char)
        return "".join(out)

    def param_value(self) -> str:
        """Consume an auth-param value: a quoted-string, or (leniently) anything up to the next comma."""
        if self.peek() == '"':
            return self.quoted_string()
        # RFC 9110 allows only a token here, but servers send `realm=My App` or `realm=api/v1`;
        # keeping everything up to the comma recovers what they meant.
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] != ",":
            self.pos += 1
        return self.text[start : self.pos].strip(_WS)

    def skip_junk(self) -> None:
        """Step over one unparseable item: a whole quoted-string, or one character."""
        if self.peek() == '"':
            self.quoted_string()
        else:
            self.pos += 1


@dataclass(slots=True)
class _Draft:
    """A challenge while it is being parsed."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token68: str | None = None


def _parse_auth(value: str) -> list[_Draft]:
    """Challenges (or credentials) in RFC 9110 §11 auth syntax, recovering from malformed input."""
    scan = _Scanner(value)
    drafts: list[_Draft] = []
    current: _Draft | None = None
    while True:
        # List elements may be empty (RFC 9110 §5.6.1), so runs of commas are skipped.
        scan.skip(_WS + ",")
        if scan.done():
            break
        name = scan.take(_TCHAR)
        if not name:
            scan.skip_junk()
            continue
        scan.skip(_WS)
        if scan.peek() == "=":
            # An auth-param: it belongs to the current challenge, unless that one carried a
            # token68 (which excludes params) or there is none yet; then it is dropped.
            scan.pos += 1
            scan.skip(_WS)
            param_value = scan.param_value()
            if current is not None and current.token68 is None:
                # Duplicate parameters are invalid (RFC 9110 §11.2); the first one is kept.
                current.params.setdefault(name.lower(), param_value)
            continue
        # Not followed by `=`: a new challenge's auth-scheme.
        current = _Draft(scheme=name)
        drafts.append(current)
        if scan.done() or scan.peek() == ",":
            continue
        # `scheme token68` ends at a comma or the end; otherwise what follows is the first auth-param
        # (`realm="x"` also starts with token68 characters and an `=`), so rewind and let the loop read it.
        mark = scan.pos
        candidate = scan.token68()
        scan.skip(_WS)
        if candidate and (scan.done() or scan.peek() == ","):
            current.token68 = candidate
        else:
            scan.pos = mark
    return drafts


def parse_challenges(value: str) -> list[Challenge]:
    """Every challenge in one `WWW-Authenticate`/`Proxy-Authenticate` value (RFC 9110 §11.6.1)."""
    return [Challenge(scheme=d.scheme, params=d.params, token68=d.token68) for d in _parse_auth(value)]


def parse_challenge_headers(values: list[str]) -> list[Challenge]:
    """Every challenge of a repeated header, in order."""
    return [challenge for value in values for challenge in parse_challenges(value)]


# -- cookies ------------------------------------------------------------------------------------

# Attributes whose presence is the whole meaning (RFC 6265 §5.2.5-6, CHIPS): any value is ignored.
_FLAG_ATTRIBUTES = frozenset({"secure", "httponly", "partitioned"})


def parse_set_cookie(value: str, redactor: Redactor) -> SetCookie | None:
    """One `Set-Cookie` line with its value fingerprinted (RFC 6265 §5.2); None without `name=`."""
    pair, _, rest = value.partition(";")
    name, eq, cookie_value = pair.partition("=")
    name = name.strip(_WS)
    if not eq or not name:
        # RFC 6265 §5.2 step 2 and 5: no `=` or an empty name means the line is ignored.
        return None
    attributes: dict[str, str] = {}
    # Attributes are split on `;` only, so Expires keeps the comma of its weekday.
    for item in rest.split(";"):
        attr_name, _, attr_value = item.partition("=")
        attr_name = attr_name.strip(_WS).lower()
        if not attr_name:
            continue
        # A repeated attribute: the last one wins (RFC 6265 §5.3 step 3 reads the last of each).
        attributes[attr_name] = "" if attr_name in _FLAG_ATTRIBUTES else attr_value.strip(_WS)
    value_text = cookie_value.strip(_WS)
    return SetCookie(
        name=name,
        value_fingerprint=redactor.cookie(name, value_text),
        attributes=attributes,
        size=len((name + value_text).encode(errors="surrogatepass")),
    )


def parse_cookie_header(value: str) -> list[str]:
    """Names of the cookies in a `Cookie` request header, in order, repeats kept."""
    names: list[str] = []
    for item in value.split(";"):
        item = item.strip(_WS)
        if not item:
            continue
        name, eq, _ = item.partition("=")
        # A bare item is a nameless cookie's *value* (RFC 6265bis §5.7.3): report it as the
        # empty name so a token sent that way is counted but never shown.
        names.append(name.strip(_WS) if eq else "")
    return names


# -- Authorization ------------------------------------------------------------------------------


def _split_authorization(value: str) -> tuple[str, str]:
    """(scheme, credential) of an Authorization value; scheme is "" when none was sent."""
    parts = value.split(None, 1)
    if not parts:
        return "", ""
    if len(parts) == 1:
        word = parts[0]
        return (word, "") if word.lower() in _KNOWN_SCHEMES else ("", word)
    first, credential = parts
    if all(char in _TCHAR for char in first):
        return first, credential.strip()
    return "", value.strip()


def _basic_username(credential: str, redactor: Redactor) -> str | None:
    """The user-id of a Basic credential (RFC 7617 §2), registering the password; None if undecodable."""
    try:
        decoded = base64.b64decode(credential, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):  # bad base64, non-ASCII input, or not UTF-8
        return None
    username, colon, password = decoded.partition(":")
    if not colon:
        return None
    redactor.add_basic(username, password)
    return username


def _ext_value(value: str) -> str:
    """Decode an RFC 8187 ext-value (`UTF-8''J%C3%A4s%C3%B8n`), or return it unchanged."""
    charset, quote1, rest = value.partition("'")
    _language, quote2, encoded = rest.partition("'")
    if not (quote1 and quote2):
        return value
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, ValueError):  # unknown or malformed charset, or bytes not in it
        return value


def _digest_username(credential: str) -> str | None:
    """The `username` (or RFC 7616 `username*`) parameter of Digest credentials."""
    drafts = _parse_auth(f"Digest {credential}")
    if not drafts:
        return None
    params = drafts[0].params
    if "username" in params:
        return params["username"]
    if "username*" in params:
        return _ext_value(params["username*"])
    return None


def _jwt_subject(token: str) -> str | None:
    """The `sub` claim of a JWT, when the token is one and has it."""
    decoded = unverified_jwt(token)
    if decoded is None:
        return None
    sub = decoded[1].get("sub")
    if isinstance(sub, bool) or not isinstance(sub, str | int):
        return None
    return str(sub)


def describe_authorization(value: str, redactor: Redactor) -> AuthorizationSent:
    """The scheme and identity of an `Authorization` value, with the credential fingerprinted."""
    scheme, credential = _split_authorization(value)
    kind = scheme.lower()
    identity: str | None = None
    if kind == "basic":
        identity = _basic_username(credential, redactor)
    elif kind == "digest":
        identity = _digest_username(credential)
    elif kind == "bearer":
        identity = _jwt_subject(credential)
    return AuthorizationSent(scheme=scheme, identity=identity, fingerprint=redactor.add(credential))


# -- dates --------------------------------------------------------------------------------------


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate, RFC 850 or asctime) as aware UTC; None if garbage."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
        # asctime carries no zone and means GMT (RFC 9110 §5.6.7).
        return as_utc(parsed)
    except (TypeError, ValueError, IndexError, OverflowError):  # email.utils' ways of saying "not a date"
        return None


# Elements whose content a reader never sees as text.
_HIDDEN_ELEMENTS = frozenset({"head", "script", "style", "template", "noscript", "svg"})
# Elements that start a new line of text (a heading and the error message under it are two lines).
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6", "header", "footer", "main", "nav", "section"})
_BLOCK_ELEMENTS = _HEADINGS | {"p", "div", "li", "ul", "ol", "form", "label", "br", "tr", "table", "button"}


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN_ELEMENTS:
            self.hidden += 1
        elif tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN_ELEMENTS and self.hidden:
            self.hidden -= 1
        elif tag in _BLOCK_ELEMENTS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_text(body: str) -> str:
    """An HTML page's visible text (what a reader sees, entities decoded): one line per block, each
    line's whitespace collapsed. Text that is not HTML keeps its lines, each one collapsed."""
    text = body
    if re.search(r"<(!doctype|html|body|p|h\d|div|form|span)\b", body, re.IGNORECASE):
        parser = _VisibleText()
        parser.feed(body)
        parser.close()
        text = "".join(parser.parts)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
