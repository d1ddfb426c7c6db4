"""Header, cookie, Authorization, JWT and date parsers: concrete cases and properties (no browser).

Over 400 lines: the cases and properties of every parser in loginprobe/parsing.py and
loginprobe/jwts.py, a section each.
"""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loginprobe.evidence import Challenge
from loginprobe.jwts import decode_all, decode_jwt, find_jwts
from loginprobe.parsing import (
    describe_authorization,
    parse_challenge_headers,
    parse_challenges,
    parse_cookie_header,
    parse_http_date,
    parse_set_cookie,
)
from loginprobe.secrets import Redactor

# A 32-byte HMAC key, so pyjwt's short-key warning (an error under filterwarnings) never fires.
SIGNING_KEY = "k" * 32
SERVER_DATE = datetime(2026, 3, 1, 10, 7, 12, tzinfo=UTC)

# The autouse environment fixture and tmp_path are function-scoped; sharing them across the
# examples of one property test is harmless (a key file and a clean environment).
PROPERTY_SETTINGS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


@pytest.fixture
def redactor(tmp_path: Path) -> Redactor:
    return Redactor(key_path=tmp_path / "k")


def make_jwt(claims: dict[str, object]) -> str:
    return jwt.encode(claims, SIGNING_KEY, algorithm="HS256")


# -- challenges -----------------------------------------------------------------------------------


def test_several_challenges_in_one_value_with_rfc6750_error_params() -> None:
    value = (
        'Basic realm="a", Bearer realm="b", error="invalid_token", '
        'error_description="The access token expired"'
    )

    basic, bearer = parse_challenges(value)

    assert basic == Challenge(scheme="Basic", params={"realm": "a"})
    assert bearer.scheme == "Bearer"
    assert bearer.realm == "b"
    assert bearer.error == "invalid_token"
    assert bearer.error_description == "The access token expired"


def test_quoted_string_keeps_commas_equals_and_escaped_quotes() -> None:
    (challenge,) = parse_challenges(r'Bearer realm="a, b=c \"d\"", scope="read write"')

    assert challenge.params == {"realm": 'a, b=c "d"', "scope": "read write"}


def test_token68_then_another_challenge() -> None:
    negotiate, basic = parse_challenges('Negotiate abc==, Basic realm="x"')

    assert negotiate == Challenge(scheme="Negotiate", token68="abc==")
    assert basic == Challenge(scheme="Basic", params={"realm": "x"})


def test_rfc9110_example_with_unquoted_param() -> None:
    value = r'Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple"'

    newauth, basic = parse_challenges(value)

    assert newauth.params == {"realm": "apps", "type": "1", "title": 'Login to "apps"'}
    assert basic.params == {"realm": "simple"}


def test_param_names_are_lower_cased_and_scheme_kept_as_sent() -> None:
    (challenge,) = parse_challenges('bEaReR Realm="r", ERROR = "insufficient_scope", Scope="admin"')

    assert challenge.scheme == "bEaReR"
    assert challenge.params == {"realm": "r", "error": "insufficient_scope", "scope": "admin"}


def test_digest_challenge_with_comma_list_in_qop() -> None:
    value = (
        'Digest realm="lab", qop="auth, auth-int", algorithm=SHA-256, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe"'
    )

    (digest,) = parse_challenges(value)

    assert digest.params["qop"] == "auth, auth-int"
    assert digest.params["algorithm"] == "SHA-256"
    assert digest.params["nonce"] == "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v"


def test_repeated_headers_keep_every_challenge_in_order() -> None:
    challenges = parse_challenge_headers(['Basic realm="one"', 'Bearer error="invalid_token", Negotiate'])

    assert [c.scheme for c in challenges] == ["Basic", "Bearer", "Negotiate"]
    assert challenges[1].error == "invalid_token"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", []),
        ("   ,, ,", []),
        ("Basic", [Challenge(scheme="Basic")]),
        (", Basic ,", [Challenge(scheme="Basic")]),
        ('Basic realm="unterminated', [Challenge(scheme="Basic", params={"realm": "unterminated"})]),
        ('realm="no scheme"', []),
        (
            'Bearer realm=My App, error="invalid_token"',
            [Challenge(scheme="Bearer", params={"realm": "My App", "error": "invalid_token"})],
        ),
        ('"junk", Basic realm="r"', [Challenge(scheme="Basic", params={"realm": "r"})]),
        ('Basic realm="first", realm="second"', [Challenge(scheme="Basic", params={"realm": "first"})]),
        ("Bearer error=", [Challenge(scheme="Bearer", token68="error=")]),  # RFC 9110's own ambiguity
    ],
)
def test_malformed_values_recover_what_they_can(value: str, expected: list[Challenge]) -> None:
    assert parse_challenges(value) == expected


# -- Set-Cookie and Cookie --------------------------------------------------------------------------


def test_set_cookie_with_expires_comma_and_every_attribute(redactor: Redactor) -> None:
    line = (
        "sid=s3cr3t-session; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Max-Age=3600; Domain=.example.test; "
        "Path=/app; Secure; HttpOnly; SameSite=None; Partitioned"
    )

    cookie = parse_set_cookie(line, redactor)

    assert cookie is not None
    assert cookie.name == "sid"
    assert cookie.value_fingerprint == redactor.fingerprint("s3cr3t-session")
    assert cookie.attributes == {
        "expires": "Wed, 21 Oct 2026 07:28:00 GMT",
        "max-age": "3600",
        "domain": ".example.test",
        "path": "/app",
        "secure": "",
        "httponly": "",
        "samesite": "None",
        "partitioned": "",
    }
    # The value is now known to the redactor, so it disappears from anything written.
    assert "s3cr3t-session" not in redactor.text(line)


def test_set_cookie_empty_value_and_repeated_attribute(redactor: Redactor) -> None:
    cookie = parse_set_cookie("sid=; Path=/a; path=/b; Max-Age=0", redactor)

    assert cookie is not None
    assert cookie.value_fingerprint == ""
    assert cookie.attributes == {"path": "/b", "max-age": "0"}  # RFC 6265 §5.3: the last one wins


def test_set_cookie_size_counts_name_and_value_bytes(redactor: Redactor) -> None:
    # RFC 6265bis §5.6 caps name plus value at 4096 bytes; attributes do not count
    cookie = parse_set_cookie("sessionid=" + "é" * 10 + "; Path=/; HttpOnly", redactor)

    assert cookie is not None
    assert cookie.size == len("sessionid") + 20


@pytest.mark.parametrize("line", ["", "   ", "no-equals-sign", "=orphan-value", "; Path=/"])
def test_set_cookie_without_name_pair_is_none(line: str, redactor: Redactor) -> None:
    assert parse_set_cookie(line, redactor) is None


def test_cookie_header_keeps_order_and_duplicate_names() -> None:
    assert parse_cookie_header("sid=old; theme=dark; sid=new") == ["sid", "theme", "sid"]


def test_cookie_header_edge_cases() -> None:
    assert parse_cookie_header("") == []
    assert parse_cookie_header(" a=1 ;; b = 2 ;") == ["a", "b"]
    # A nameless cookie is sent as its bare value: counted, never shown.
    assert parse_cookie_header("bare-token-value; a=1") == ["", "a"]


# -- Authorization ----------------------------------------------------------------------------------


def test_basic_identity_and_base64_form_redacted(redactor: Redactor) -> None:
    credential = base64.b64encode(b"alice:correct horse").decode()

    sent = describe_authorization(f"Basic {credential}", redactor)

    assert sent.scheme == "Basic"
    assert sent.identity == "alice"
    assert sent.fingerprint == redactor.fingerprint(credential)
    redacted = redactor.text(f"Authorization: Basic {credential}; password=correct horse")
    assert credential not in redacted
    assert "correct horse" not in redacted


def test_basic_scheme_case_kept_and_undecodable_credential(redactor: Redactor) -> None:
    sent = describe_authorization("basic !!!not-base64!!!", redactor)

    assert sent.scheme == "basic"
    assert sent.identity is None
    assert sent.fingerprint == redactor.fingerprint("!!!not-base64!!!")


def test_basic_without_colon_has_no_identity(redactor: Redactor) -> None:
    assert describe_authorization("Basic " + base64.b64encode(b"nocolon").decode(), redactor).identity is None


def test_digest_username(redactor: Redactor) -> None:
    value = 'Digest username="Mufasa", realm="lab", nonce="abc", uri="/p", response="6629fae49393a053"'

    sent = describe_authorization(value, redactor)

    assert sent.scheme == "Digest"
    assert sent.identity == "Mufasa"
    assert "6629fae49393a053" not in redactor.text(value)


def test_digest_extended_username(redactor: Redactor) -> None:
    value = 'Digest username*=UTF-8\'\'J%C3%A4s%C3%B8n%20Doe, realm="lab", response="ff"'

    assert describe_authorization(value, redactor).identity == "Jäsøn Doe"


def test_bearer_jwt_identity_is_sub(redactor: Redactor) -> None:
    token = make_jwt({"sub": "user-42", "aud": "api"})

    sent = describe_authorization(f"Bearer {token}", redactor)

    assert sent.scheme == "Bearer"
    assert sent.identity == "user-42"
    assert sent.fingerprint == redactor.fingerprint(token)
    signature = token.rsplit(".", 1)[1]
    assert signature not in redactor.text(token)


def test_bearer_opaque_token_has_no_identity(redactor: Redactor) -> None:
    sent = describe_authorization("Bearer opaque-token-123", redactor)

    assert (sent.scheme, sent.identity) == ("Bearer", None)
    assert "opaque-token-123" not in redactor.text("x opaque-token-123 y")


@pytest.mark.parametrize(
    ("value", "scheme", "has_fingerprint"),
    [
        ("", "", False),
        ("   ", "", False),
        ("Negotiate", "Negotiate", False),
        ("sk_live_rawapikey", "", True),  # a bare word that is not a scheme is a credential: never shown
        ("Token abc123", "Token", True),
    ],
)
def test_authorization_without_usual_shape(
    value: str, scheme: str, has_fingerprint: bool, redactor: Redactor
) -> None:
    sent = describe_authorization(value, redactor)

    assert sent.scheme == scheme
    assert sent.identity is None
    assert bool(sent.fingerprint) is has_fingerprint


# -- JWT --------------------------------------------------------------------------------------------


def test_expired_jwt_measured_against_server_date(redactor: Redactor) -> None:
    # Given a token that expired 7m12s before the server's Date, while the local clock is earlier
    exp = SERVER_DATE - timedelta(minutes=7, seconds=12)
    token = make_jwt({"sub": "alice", "exp": int(exp.timestamp()), "iat": int(exp.timestamp()) - 3600})

    # When it is decoded with the server's Date
    record = decode_jwt(
        token,
        found_in="request header Authorization",
        redactor=redactor,
        exchange_id=3,
        server_date=SERVER_DATE,
        now=exp - timedelta(hours=1),
    )

    # Then the server's clock is the reference, and the token was past exp by 432 s
    assert record is not None
    assert record.reference == "server-date"
    assert record.reference_time == SERVER_DATE
    assert record.expires_at == exp
    assert record.issued_at == exp - timedelta(hours=1)
    assert record.seconds_to_expiry == -432
    assert record.exchange_id == 3
    assert record.header == {"alg": "HS256", "typ": "JWT"}
    assert record.claims["sub"] == "alice"
    assert record.fingerprint == redactor.fingerprint(token)


def test_jwt_against_local_clock_and_naive_now(redactor: Redactor) -> None:
    token = make_jwt({"exp": 1_000_100, "nbf": 1_000_000})

    record = decode_jwt(
        token, found_in="cookie id_token", redactor=redactor, now=datetime(1970, 1, 12, 13, 46, 40)
    )

    assert record is not None
    assert record.reference == "local-clock"
    assert record.reference_time == datetime.fromtimestamp(1_000_000, UTC)
    assert record.not_before == datetime.fromtimestamp(1_000_000, UTC)
    assert record.seconds_to_expiry == 100


def test_jwt_non_numeric_dates_ignored_and_claims_kept(redactor: Redactor) -> None:
    token = make_jwt({"exp": "tomorrow", "iat": True, "nbf": 1e300, "roles": ["a", "b"], "n": None})

    record = decode_jwt(token, found_in="localStorage token", redactor=redactor)

    assert record is not None
    assert (record.expires_at, record.issued_at, record.not_before, record.seconds_to_expiry) == (None,) * 4
    assert record.claims == {"exp": "tomorrow", "iat": True, "nbf": 1e300, "roles": ["a", "b"], "n": None}


def test_unsigned_jwt_is_decoded(redactor: Redactor) -> None:
    token = make_jwt({"sub": "x"}).rsplit(".", 1)[0] + "."

    record = decode_jwt(token, found_in="url", redactor=redactor)

    assert record is not None
    assert record.claims == {"sub": "x"}


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "eyJhbGciOi.eyJzdWIi.sig", "eyJ9.eyJ9.x"])
def test_not_a_jwt_is_none(token: str, redactor: Redactor) -> None:
    assert decode_jwt(token, found_in="body", redactor=redactor) is None


def test_find_jwts_in_text_dedupes_in_order() -> None:
    first = make_jwt({"sub": "1"})
    second = make_jwt({"sub": "2"})
    text = f'{{"id_token":"{first}"}} https://app.test/cb#access_token={second}&x=1 Bearer {first}'

    assert find_jwts(text) == [first, second]


def test_find_jwts_ignores_lookalikes() -> None:
    assert find_jwts("") == []
    assert find_jwts("eyJ.eyJ.x and abc.def.ghi") == []
    # Inside a longer base64url run it is not a token of its own.
    assert find_jwts("xxeyJhbGc.eyJzdWI.sig") == []


def test_decode_all_records_each_token_that_decodes_in_order(redactor: Redactor) -> None:
    first, second = make_jwt({"sub": "1", "exp": 1}), make_jwt({"sub": "2"})
    lookalike = "eyJhbGciOiJub25lIn0.eyJzdWIiOi.x"  # token-shaped, but its payload is no JSON
    text = f"{second} then {lookalike} then {first} and {second} again"

    records = decode_all(text, found_in="a body", redactor=redactor, exchange_id=4, server_date=SERVER_DATE)

    assert [r.claims["sub"] for r in records] == ["2", "1"]
    assert {(r.found_in, r.exchange_id, r.reference) for r in records} == {("a body", 4, "server-date")}
    assert first not in redactor.text(text) and second not in redactor.text(text)


# -- dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",  # IMF-fixdate
        "Sunday, 06-Nov-94 08:49:37 GMT",  # obsolete RFC 850
        "Sun Nov  6 08:49:37 1994",  # obsolete asctime, implicitly GMT
        "Sun, 06 Nov 1994 10:49:37 +0200",  # not HTTP, but an offset is honoured
    ],
)
def test_http_date_forms(value: str) -> None:
    parsed = parse_http_date(value)

    assert parsed == datetime(1994, 11, 6, 8, 49, 37, tzinfo=UTC)
    assert parsed is not None and parsed.tzinfo is UTC


@pytest.mark.parametrize("value", [None, "", "garbage", "Sun, 99 Foo 1994", "Sun, 06 Nov 99999 08:49:37 GMT"])
def test_http_date_garbage_is_none(value: str | None) -> None:
    assert parse_http_date(value) is None


# -- properties -------------------------------------------------------------------------------------

TCHARS = "!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits
tokens = st.text(alphabet=TCHARS, min_size=1, max_size=10)
param_values = st.text(
    alphabet=st.characters(exclude_categories=("Cc", "Cs")) | st.sampled_from('\t"\\,= '), max_size=20
)
token68s = st.from_regex(r"[A-Za-z0-9\-._~+/]{1,16}={0,2}", fullmatch=True)
challenges = st.one_of(
    st.builds(
        Challenge, scheme=tokens, params=st.dictionaries(tokens.map(str.lower), param_values, max_size=4)
    ),
    st.builds(Challenge, scheme=tokens, token68=token68s),
)


def format_challenge(challenge: Challenge) -> str:
    """Serialise a challenge the way RFC 9110 §11.6.1 writes it (tokens bare, the rest quoted)."""
    if challenge.token68 is not None:
        return f"{challenge.scheme} {challenge.token68}"
    if not challenge.params:
        return challenge.scheme
    params = []
    for name, value in challenge.params.items():
        if value and all(char in TCHARS for char in value):
            params.append(f"{name}={value}")
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            params.append(f'{name}="{escaped}"')
    return f"{challenge.scheme} {', '.join(params)}"


@given(st.lists(challenges, max_size=4), st.sampled_from([", ", ",", " , ", ",\t"]))
def test_challenges_round_trip_through_formatting(generated: list[Challenge], separator: str) -> None:
    assert parse_challenges(separator.join(format_challenge(c) for c in generated)) == generated


@PROPERTY_SETTINGS
@given(st.text())
def test_no_parser_raises_on_arbitrary_text(tmp_path: Path, text: str) -> None:
    redactor = Redactor(key_path=tmp_path / "k")
    parse_challenges(text)
    parse_challenge_headers([text, text])
    parse_set_cookie(text, redactor)
    parse_cookie_header(text)
    describe_authorization(text, redactor)
    for scheme in ("Basic ", "Digest ", "Bearer "):
        describe_authorization(scheme + text, redactor)
    for token in [text, *find_jwts(text)]:
        decode_jwt(token, found_in="text", redactor=redactor)
    parse_http_date(text)


@PROPERTY_SETTINGS
@given(st.text(alphabet=st.sampled_from('eyJ.-_=AZaz09 ,;"\\:'), max_size=60))
def test_no_parser_raises_on_near_miss_text(tmp_path: Path, text: str) -> None:
    redactor = Redactor(key_path=tmp_path / "k")
    parse_challenges(text)
    describe_authorization("Bearer " + text, redactor)
    for token in [text, *find_jwts(text)]:
        decode_jwt(token, found_in="text", redactor=redactor)


@PROPERTY_SETTINGS
@given(
    st.dictionaries(
        # Claim names start with a letter: `{"` followed by one encodes to `eyJ`, the shape searched for.
        st.from_regex(r"[A-Za-z][A-Za-z0-9_ ]{0,7}", fullmatch=True),
        st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.floats(allow_nan=False),
        min_size=1,  # `{}` encodes to `e30`: an empty payload is not JWT-looking
        max_size=5,
    )
)
def test_jwt_claims_round_trip(tmp_path: Path, claims: dict[str, object]) -> None:
    token = make_jwt(claims)

    record = decode_jwt(token, found_in="p", redactor=Redactor(key_path=tmp_path / "k"), now=SERVER_DATE)

    assert record is not None
    assert record.claims == claims
    assert find_jwts(f"see {token}.") == [token]


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 1, 1), timezones=st.just(UTC)))
def test_http_date_round_trips(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)

    assert parse_http_date(format_datetime(moment, usegmt=True)) == moment
    assert parse_http_date(format_datetime(moment.astimezone(timezone(timedelta(hours=5))))) == moment


@given(st.lists(st.text(alphabet=string.ascii_letters + "_-", min_size=1, max_size=8), max_size=6))
def test_cookie_header_names_round_trip(names: list[str]) -> None:
    assert parse_cookie_header("; ".join(f"{name}=v{i}" for i, name in enumerate(names))) == names


# -- malformed input, parser by parser (what hostile or broken servers send) -----------------------

HOSTILE = st.text(
    alphabet=st.sampled_from("\t\r\n \"\\,;=/:*'%\x00\x01\x7f\u00e9\u2028\ud7ff") | st.characters(),
    max_size=40,
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
# Payload texts a broken issuer might sign: any JSON value, numbers no float holds, NaN, or not JSON.
payload_texts = st.one_of(
    json_values.map(lambda v: json.dumps(v, allow_nan=True)),
    st.sampled_from(
        [
            '{"exp": 1e999}',
            '{"exp": -1e999, "nbf": NaN, "iat": Infinity}',
            '{"exp": 100000000000000000000000000000000000000000}',
            '{"sub": {"nested": [1, 2]}, "exp": "soon"}',
            '{"exp": 1.5e10, "nbf": -62135596801}',
            '{"a": 1, "a": 2}',
            "[1, 2, 3]",
            "{",
        ]
    ),
    HOSTILE,
)


@PROPERTY_SETTINGS
@given(payload_texts, payload_texts, st.binary(max_size=12))
def test_jwts_with_malformed_segments_decode_or_are_none(
    tmp_path: Path, header: str, payload: str, signature: bytes
) -> None:
    redactor = Redactor(key_path=tmp_path / "k")
    segments = [header.encode("utf-8", "surrogatepass"), payload.encode("utf-8", "surrogatepass"), signature]
    token = ".".join(b64url(segment) for segment in segments)

    record = decode_jwt(token, found_in="t", redactor=redactor, server_date=SERVER_DATE)
    described = describe_authorization(f"Bearer {token}", redactor)

    assert record is None or isinstance(record.claims, dict)
    assert described.scheme == "Bearer"
    assert described.identity is None or isinstance(described.identity, str)
    for found in find_jwts(f"x {token} y"):
        decode_jwt(found, found_in="t", redactor=redactor)


@PROPERTY_SETTINGS
@given(
    st.binary(max_size=40), HOSTILE, st.sampled_from(["UTF-8", "ISO-8859-1", "utf-16", "no-such-charset", ""])
)
def test_basic_and_digest_credentials_of_any_bytes(
    tmp_path: Path, raw: bytes, text: str, charset: str
) -> None:
    redactor = Redactor(key_path=tmp_path / "k")

    basic = describe_authorization("Basic " + base64.b64encode(raw).decode(), redactor)
    plain = describe_authorization(f"Digest username={text}, realm={text}", redactor)
    extended = describe_authorization(f"Digest username*={charset}''%FF%FE{text}", redactor)

    assert basic.identity is None or b":" in raw
    for sent in (plain, extended):
        assert sent.scheme == "Digest"
        assert sent.identity is None or isinstance(sent.identity, str)


@pytest.mark.parametrize("credential", ["username*=UTF-8\x00''%41", "username*=punycode''%00"])
def test_digest_extended_username_with_a_broken_charset(credential: str, redactor: Redactor) -> None:
    sent = describe_authorization("Digest " + credential, redactor)

    assert sent.identity is None or isinstance(sent.identity, str)


@PROPERTY_SETTINGS
@given(HOSTILE, HOSTILE, st.lists(st.tuples(HOSTILE, HOSTILE), max_size=5))
def test_set_cookie_with_malformed_attributes(
    tmp_path: Path, name: str, value: str, attributes: list[tuple[str, str]]
) -> None:
    line = f"{name}={value}" + "".join(f"; {k}={v}" for k, v in attributes)

    parsed = parse_set_cookie(line, Redactor(key_path=tmp_path / "k"))

    if parsed is not None:
        assert parsed.name and ";" not in parsed.name and "=" not in parsed.name
        assert all(key == key.lower() for key in parsed.attributes)
    else:  # RFC 6265 §5.2: no `=` in the name-value pair, or an empty name
        pair = line.partition(";")[0]
        assert "=" not in pair or not pair.partition("=")[0].strip(" \t\r\n")


@given(st.lists(HOSTILE, max_size=4))
def test_challenge_headers_with_hostile_characters(values: list[str]) -> None:
    challenges = parse_challenge_headers(values)

    assert all(c.scheme and all(char in TCHARS for char in c.scheme) for c in challenges)
    assert all(c.token68 is None or not c.params for c in challenges)


@given(HOSTILE)
def test_cookie_header_names_never_hold_separators(value: str) -> None:
    assert all(";" not in name and "=" not in name for name in parse_cookie_header(value))


@given(
    st.sampled_from(["Sun", "Funday", "", "Sunday"]),
    st.integers(-5, 99),
    st.sampled_from(["Nov", "Foo", "", "11"]),
    st.integers(-1, 100_000),
    st.tuples(st.integers(-1, 99), st.integers(-1, 99), st.integers(-1, 99)),
    st.sampled_from(["GMT", "UTC", "+9999", "-0000", "ZZZ", ""]),
)
def test_http_date_lookalikes_are_dates_or_none(
    weekday: str, day: int, month: str, year: int, clock: tuple[int, int, int], zone: str
) -> None:
    value = f"{weekday}, {day:02} {month} {year} {clock[0]:02}:{clock[1]:02}:{clock[2]:02} {zone}"

    parsed = parse_http_date(value)

    assert parsed is None or parsed.tzinfo is UTC
