"""The state every lab server shares: the lab user and its secrets, the switches, one clock, tokens and
sessions, and the servers' URLs once they listen. The servers (app.py, idp.py, intermediaries.py) read
it; server.py starts them. Nothing here imports a server, so the lab has no import circle.

One clock for everything: `time.time() + clock_offset_s` stamps every `Date` header and decides every
token, session and nonce, so a scenario can make time pass between seeding a profile and probing it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from loginprobe.lab.switches import Switches

API_AUDIENCE = "lab-api"
SESSION_LIFETIME_S = 8 * 3600
SESSION_COOKIE = "session"


@dataclass(frozen=True, slots=True)
class Session:
    username: str
    created: float
    expires: float
    # An OpenID Connect relying party's session keeps the access token it got at sign-in; when that
    # token expires the session lives on (the identity provider's too), as in express-openid-connect.
    access_token_exp: float | None = None


class LabState:
    """What the lab's servers share (a `Lab` is one, with its servers attached)."""

    username = "alice"
    client_id = "lab-app"

    def __init__(self) -> None:
        self.password = secrets.token_urlsafe(16)
        # What the server accepts once `password_rotated` is on; never handed to a scenario's site.
        self.rotated_password = secrets.token_urlsafe(16)
        self.api_key = "lab_" + secrets.token_urlsafe(24)
        # The key that replaces `api_key` once `api_key_rotated` is on (what the app's config serves then).
        self.rotated_api_key = "lab_" + secrets.token_urlsafe(24)
        self.client_secret = secrets.token_urlsafe(24)
        self._jwt_key = secrets.token_urlsafe(32)
        self._session_keys = (secrets.token_bytes(32), secrets.token_bytes(32))  # (current, after rotation)
        self._lock = threading.RLock()
        self._switches = Switches()
        self._sessions: dict[str, Session] = {}
        self._issued: list[str] = []
        self._jtis: set[str] = set()  # every access token's id, to revoke them all at once
        self._revoked_jtis: frozenset[str] = frozenset()
        self._flap_counts: dict[str, int] = {}
        self._urls: dict[str, str] = {}

    def _url(self, name: str) -> str:
        if not self._urls:
            raise RuntimeError("the lab is not running; use `with Lab() as lab:`")
        return self._urls[name]

    @property
    def app_url(self) -> str:
        return self._url("app")

    @property
    def idp_url(self) -> str:
        return self._url("idp")

    @property
    def cache_url(self) -> str:
        return self._url("cache")

    @property
    def proxy_url(self) -> str:
        return self._url("proxy")

    @property
    def app_port(self) -> int:
        return int(self.app_url.rsplit(":", 1)[1])

    # -- switches and clock ----------------------------------------------------------------------

    @property
    def switches(self) -> Switches:
        return self._switches

    def apply(self, **switches: Any) -> Switches:
        """Reset every switch to healthy, then set the given ones (TypeError for an unknown name)."""
        new = Switches(**switches)
        with self._lock:
            self._switches = new
            if new.sessions_dropped:
                self._sessions.clear()  # the server forgot every session, as after a restart
            # Revocation applies to the tokens issued before the switch: the ones a returning browser holds.
            self._revoked_jtis = frozenset(self._jtis) if new.tokens_revoked else frozenset()
            self._flap_counts.clear()
        return new

    def now(self) -> float:
        """The server clock: every Date header and every validation use it."""
        return time.time() + self._switches.clock_offset_s

    # -- secrets ---------------------------------------------------------------------------------

    def secrets(self) -> list[str]:
        """Every secret the lab issued or accepts, so tests can scan artifacts for leaks."""
        with self._lock:
            issued = list(self._issued)
        return [
            self.password,
            self.rotated_password,
            self.api_key,
            self.rotated_api_key,
            self.client_secret,
            *issued,
        ]

    def _record(self, value: str) -> str:
        with self._lock:
            self._issued.append(value)
        return value

    def accepted_password(self) -> str:
        return self.rotated_password if self._switches.password_rotated else self.password

    def check_password(self, username: str | None, password: str | None) -> bool:
        """The username/password pair every password login of the lab (and its IdP) checks."""
        if not username or password is None:
            return False
        user_ok = hmac.compare_digest(username.encode(), self.username.encode())
        return hmac.compare_digest(password.encode(), self.accepted_password().encode()) and user_ok

    def accepted_api_key(self) -> str:
        return self.rotated_api_key if self._switches.api_key_rotated else self.api_key

    # -- tokens ----------------------------------------------------------------------------------

    def mint_jwt(
        self,
        ttl_s: int,
        roles: Sequence[str] = ("user",),
        aud: str = API_AUDIENCE,
        scope: str = "profile",
        not_before_s: int = 0,
    ) -> str:
        """An HS256 access token for the lab API (iss = app_url, sub = the lab user), by the server clock."""
        now = int(self.now())
        jti = uuid.uuid4().hex
        with self._lock:
            self._jtis.add(jti)
        claims = {
            "iss": self.app_url,
            "sub": self.username,
            "aud": aud,
            "iat": now,
            "nbf": now + not_before_s,
            "exp": now + ttl_s,
            "roles": list(roles),
            "scope": scope,
            "jti": jti,
        }
        return self._record(jwt.encode(claims, self._jwt_key, algorithm="HS256"))

    def decode_jwt(self, token: str) -> dict[str, Any]:
        """Verify the signature only; time, audience and issuer are the caller's to judge by `now()`."""
        claims: dict[str, Any] = jwt.decode(
            token,
            self._jwt_key,
            algorithms=["HS256"],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False},
        )
        return claims

    def token_revoked(self, claims: dict[str, Any]) -> bool:
        """Whether `tokens_revoked` revoked this (correctly signed) token."""
        return str(claims.get("jti", "")) in self._revoked_jtis

    # -- sessions --------------------------------------------------------------------------------

    def _session_key(self) -> bytes:
        return self._session_keys[1] if self._switches.session_secret_rotated else self._session_keys[0]

    def _sign(self, sid: str, key: bytes) -> str:
        return hmac.new(key, sid.encode(), hashlib.sha256).hexdigest()[:32]

    def new_session(self, username: str, access_token_exp: float | None = None) -> str:
        """Create a server-side session; returns the signed cookie value `<id>.<signature>`."""
        sid = secrets.token_urlsafe(18)
        now = self.now()
        with self._lock:
            self._sessions[sid] = Session(username, now, now + SESSION_LIFETIME_S, access_token_exp)
        return self._record(f"{sid}.{self._sign(sid, self._session_key())}")

    def session(self, cookie_value: str | None) -> Session | None:
        """The session of a signed session cookie, or None (bad signature, unknown or expired session)."""
        if not cookie_value or "." not in cookie_value:
            return None
        sid, _, signature = cookie_value.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(sid, self._session_key())):
            return None
        with self._lock:
            session = self._sessions.get(sid)
        if session is None or session.expires <= self.now():
            return None
        return session

    def session_user(self, cookie_value: str | None) -> str | None:
        """The user of a signed session cookie, or None (bad signature, unknown or expired session)."""
        session = self.session(cookie_value)
        return session.username if session is not None else None

    def end_session(self, cookie_value: str | None) -> None:
        if cookie_value and "." in cookie_value:
            with self._lock:
                self._sessions.pop(cookie_value.rpartition(".")[0], None)

    def flaps(self, path: str) -> bool:
        """With `flapping` on, every other authenticated request to a protected path is refused
        (the first one included), as when one node of a cluster has the wrong configuration."""
        if not self._switches.flapping:
            return False
        with self._lock:
            count = self._flap_counts.get(path, 0) + 1
            self._flap_counts[path] = count
        return count % 2 == 1

    def record(self, value: str) -> str:
        """Remember a secret issued by one of the lab's servers (id tokens, access tokens)."""
        return self._record(value)
