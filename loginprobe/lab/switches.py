"""The lab's switches: each one a way real servers break a login. Defaults are a healthy site."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

SameSite = Literal["Lax", "Strict", "None"]
ProxyMode = Literal["pass", "strip-authorization", "require-auth"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Switches:
    """One immutable set of switches; `Lab.apply` swaps the whole set at once.

    An unknown name raises TypeError (the dataclass constructor does it), a known name with a value
    outside its choices raises ValueError.
    """

    # Credentials and sessions
    password_rotated: bool = False  # the configured password is no longer accepted anywhere
    sessions_dropped: bool = False  # applying it makes the server forget every session (a restart)
    session_cookie_path: str = "/"
    session_cookie_domain: str | None = None  # None: host-only cookie
    session_cookie_secure: bool = False
    session_cookie_samesite: SameSite | None = "Lax"  # None: attribute left out
    session_secret_rotated: bool = False  # cookies signed with the previous key fail
    login_redirect_if_cookie: bool = False  # /login sends anyone holding a session cookie to /account
    account_cache_control: str | None = None  # None: "no-store"; any value also goes on the 401
    account_no_challenge: bool = False  # /account's 401 without WWW-Authenticate
    # Tokens and keys
    jwt_ttl_s: int = 900  # lifetime of tokens from /api/login
    clock_offset_s: float = 0.0  # the server clock runs this far ahead (Date, every validation)
    api_key_revoked: bool = False
    api_key_location: Literal["header", "query"] = "header"
    api_key_header_name: str = "X-API-Key"
    api_key_rotated: bool = False  # a new key replaced the configured one, which is refused as revoked
    tokens_revoked: bool = False  # applying it revokes every access token issued so far
    require_role: str | None = None  # /api/me needs this role
    insufficient_status: Literal[401, 403] = 403  # status when the role is missing
    # HTTP authentication areas
    basic_no_challenge: bool = False  # /basic/ answers 401 without WWW-Authenticate, always
    basic_requires_bearer: bool = False  # /basic/ now challenges Bearer and rejects Basic
    # Deployment
    canonical_host_redirect: bool = False  # protected pages 301 to http://localhost:<app port>
    flapping: bool = False  # every other authenticated request to a protected URL gets 401
    cache_ignore_vary: bool = False  # the intermediary cache keys by URL only
    proxy_mode: ProxyMode = "pass"
    sw_cache_first: bool = False  # /sw-app/sw.js serves /sw-app/data from Cache Storage first
    # The shared cache keys on URL + Cookie and keeps every 200 this long whatever the origin's
    # Cache-Control says (a Varnish whose vcl_hash adds the Cookie and forces a TTL); 0: off.
    shared_cache_cookie_ttl_s: int = 0
    # Browser-cache headers of the returning-visit apps' documents
    token_document_cache_control: str = "no-store"  # /portal/token, the app's token document
    app_config_cache_control: str = "no-cache"  # /console/config.json, which holds the app's API key

    def __post_init__(self) -> None:
        choices: dict[str, tuple[Any, ...]] = {
            "session_cookie_samesite": ("Lax", "Strict", "None", None),
            "api_key_location": ("header", "query"),
            "insufficient_status": (401, 403),
            "proxy_mode": ("pass", "strip-authorization", "require-auth"),
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"switch {name} must be one of {allowed}, not {getattr(self, name)!r}")
        if self.shared_cache_cookie_ttl_s < 0:
            raise ValueError("switch shared_cache_cookie_ttl_s must not be negative")
        if not self.session_cookie_path.startswith("/"):
            raise ValueError("switch session_cookie_path must start with '/'")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
