"""Settings: one place, pydantic-settings.

Precedence, lowest to highest: the config file (`--config`, else `loginprobe.toml` in the working
directory, else the `[tool.loginprobe]` table of its `pyproject.toml`), `LOGINPROBE_*` lines of a
`.env` file in the working directory, environment variables `LOGINPROBE_*` (the real environment beats
`.env`), then command-line flags. The order is set in `Settings.settings_customise_sources` and nowhere
else; no other module reads the environment.

Secrets are `SecretStr`. Each can also be named by environment variable (`password_env = "MY_PW"`),
resolved here once from the environment or else `.env`, so that a config file checked into a repository
never holds the secret itself.

The sites and their parts are models here; config/loading.py finds and reads the config file and
builds `Settings` from every source (`load_settings`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import unquote, urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    PyprojectTomlConfigSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from loginprobe.evidence import ENGINES, Engine, FlowKind, Mode

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CONFIG_FILE = "loginprobe.toml"  # found in the working directory without --config
PYPROJECT = "pyproject.toml"  # its [tool.loginprobe] table, when there is no loginprobe.toml
DEFAULT_MODES: tuple[Mode, ...] = ("fresh", "persisted")  # a first visit and a returning one
# The working directory's .env while `load_settings` builds settings: `*_env` names resolve from the
# real environment first, then from it (the usual dotenv rule: .env never overrides a real variable).
DOTENV: ContextVar[Mapping[str, str | None] | None] = ContextVar("loginprobe_dotenv", default=None)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Credentials(Strict):
    """Who logs in. Each secret may be given directly or by the name of an environment variable."""

    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    token: SecretStr | None = None
    token_env: str | None = None
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    extra_secrets: list[SecretStr] = Field(default_factory=list)  # other values to redact everywhere

    @model_validator(mode="after")
    def _resolve_env(self) -> Credentials:
        for field in ("password", "token", "api_key"):
            env_name = getattr(self, f"{field}_env")
            if env_name is None or getattr(self, field) is not None:
                continue
            value = os.environ.get(env_name)
            if value is None:
                value = (DOTENV.get() or {}).get(env_name)
            if value is None:
                raise ValueError(
                    f"{field}_env names the environment variable {env_name!r}, which is not set (nor in .env)"
                )
            object.__setattr__(self, field, SecretStr(value))
        return self

    def configured(self) -> list[str]:
        """Names of the credential parts present (never their values)."""
        names = []
        if self.username:
            names.append("username")
        for field in ("password", "token", "api_key"):
            if getattr(self, field) is not None:
                names.append(field)
        return names

    def secrets(self) -> list[str]:
        """Every secret value, for redaction only."""
        values = [s.get_secret_value() for s in (self.password, self.token, self.api_key) if s is not None]
        values.extend(s.get_secret_value() for s in self.extra_secrets)
        return [v for v in values if v]


class FormSettings(Strict):
    """Selectors of an HTML login form; left empty, they are detected on the page."""

    username_selector: str | None = None
    password_selector: str | None = None
    submit_selector: str | None = None
    next_selector: str | None = None  # the "next" button of a username-first, two-step form


class Step(Strict):
    """One interaction step of a login (consent, "stay signed in?", an account chooser): when the URL
    contains `url_contains` and/or `visible` is visible, click `click` or fill `fill`."""

    url_contains: str | None = None
    visible: str | None = None  # a selector that must be visible
    click: str | None = None  # selector to click
    fill: str | None = None  # selector of a field to fill with `value` or the secret in `value_env`
    value: str | None = None  # plain text (not a secret: it appears in the configuration)
    value_env: str | None = None  # name of the environment variable holding a secret value
    secret: SecretStr | None = None  # resolved from value_env (redacted everywhere)

    @model_validator(mode="after")
    def _complete(self) -> Step:
        if self.url_contains is None and self.visible is None:
            raise ValueError("a step needs `url_contains` or `visible` (when it applies)")
        if (self.click is None) == (self.fill is None):
            raise ValueError("a step does one thing: `click` or `fill`")
        if self.fill is not None and (self.value is None) == (self.value_env is None):
            raise ValueError("`fill` needs `value` or `value_env` (one of them)")
        if self.value_env is not None and self.secret is None:
            value = os.environ.get(self.value_env)
            if value is None:
                name = self.value_env
                raise ValueError(f"value_env names the environment variable {name!r}, which is not set")
            object.__setattr__(self, "secret", SecretStr(value))
        return self

    def describe(self) -> str:
        """The step in words, without its value."""
        when = " and ".join(
            part
            for part in (
                f"the URL contains {self.url_contains!r}" if self.url_contains else "",
                f"{self.visible!r} is visible" if self.visible else "",
            )
            if part
        )
        action = f"click {self.click!r}" if self.click else f"fill {self.fill!r}"
        return f"when {when}: {action}"


class TokenSettings(Strict):
    """How a bearer token or API key travels: a header (name configurable) or a query parameter."""

    location: Literal["header", "query"] = "header"
    name: str | None = None  # header or parameter name; defaults per flow
    scheme: str | None = "Bearer"  # header value prefix for bearer tokens; None sends the bare token


class SuccessSettings(Strict):
    """How the protected resource says the login worked."""

    status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204, 304])
    url_pattern: str | None = None  # regex the final URL must match
    selector: str | None = None  # element that must be visible

    @field_validator("url_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class Site(Strict):
    """One site to probe."""

    name: str
    url: str  # where the flow starts (login page, app page, or the protected URL itself)
    protected_url: str | None = None  # decides success; defaults to `url`
    # What a returning user opens (a bookmark, the home page); defaults to `app_url`, then the
    # protected URL. A returning visit signs in only if that page asks for it.
    start_url: str | None = None
    # The app page whose scripts call `protected_url` (form and OIDC flows open it after signing in;
    # success is judged on the request its scripts make).
    app_url: str | None = None
    flow: FlowKind = "form"
    credentials: Credentials = Field(default_factory=Credentials)
    form: FormSettings = Field(default_factory=FormSettings)
    steps: list[Step] = Field(default_factory=list)  # interaction steps of form and OIDC logins
    token: TokenSettings = Field(default_factory=TokenSettings)
    success: SuccessSettings = Field(default_factory=SuccessSettings)
    script: Path | None = None  # the user's own flow, for flow = "script"
    profile: Path | None = None  # persisted profile folder; one sub-folder per engine
    storage_state: Path | None = None  # for mode "state"
    audience: str | None = None
    issuer: str | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (at most 64)")
        return value

    @field_validator("url", "protected_url", "start_url", "app_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _flow_needs(self) -> Site:
        if self.flow == "script":
            if self.script is None:
                raise ValueError("flow 'script' needs `script`, the path of a Python file")
            if not self.script.is_file():
                raise ValueError(f"script {str(self.script)!r} is not a file")
        if self.storage_state is not None and not self.storage_state.is_file():
            raise ValueError(f"storage_state {str(self.storage_state)!r} is not a file")
        return self

    @model_validator(mode="after")
    def _step_secrets(self) -> Site:
        # Step secrets join the credentials' extra secrets, so every redactor built from
        # `credentials.secrets()` hides them too.
        extra = [s.secret for s in self.steps if s.secret is not None]
        known = {s.get_secret_value() for s in self.credentials.extra_secrets}
        missing = [s for s in extra if s.get_secret_value() not in known]
        if missing:
            merged = [*self.credentials.extra_secrets, *missing]
            credentials = self.credentials.model_copy(update={"extra_secrets": merged})
            object.__setattr__(self, "credentials", credentials)
        return self

    @property
    def target(self) -> str:
        return self.protected_url or self.url


def _split_list(value: Any) -> Any:
    """Accept "chromium,firefox" from the environment or flags as well as a list."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def default_workers() -> int:
    """Browser lanes at once: one per CPU core (2 to 8). A browser start is CPU-bound (Firefox's
    uses more than one core), so more lanes than cores slow every lane down and add memory."""
    return max(2, min(8, os.cpu_count() or 2))


class Settings(BaseSettings):
    """Everything a `loginprobe check` needs."""

    model_config = SettingsConfigDict(
        env_prefix="LOGINPROBE_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )
    toml_file: ClassVar[Path | None] = None

    sites: list[Site] = Field(default_factory=list)
    browsers: Annotated[list[Engine], NoDecode] = Field(default_factory=lambda: list(ENGINES))
    modes: Annotated[list[Mode], NoDecode] = Field(default_factory=lambda: list(DEFAULT_MODES))
    output: Path = Path("loginprobe-report")  # Playwright's convention (playwright-report/), never a package
    profiles_dir: Path = Path.home() / ".local" / "share" / "loginprobe" / "profiles"
    workers: int = Field(default_factory=default_workers, ge=1, le=32)
    timeout: float = Field(default=30.0, gt=0, le=600)  # seconds per login
    headless: bool = True
    proxy: str | None = None  # when set, every run happens both direct and through this proxy
    ignore_https_errors: bool = False
    redact: bool = True
    update_profile: bool = False
    ablate: bool = True
    capture: bool = True  # trace + HAR + screenshots; off only for benchmarking
    connect: dict[Engine, str] = Field(default_factory=dict)  # engine -> ws:// of a Playwright server
    executables: dict[Engine, Path] = Field(default_factory=dict)  # engine -> browser binary to use
    shard: str | None = None  # "i/n"

    @field_validator("browsers", "modes", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("browsers", "modes")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must name at least one")
        return list(dict.fromkeys(value))

    @field_validator("proxy")
    @classmethod
    def _proxy(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^(https?|socks5?)://[^/\s]+", value):
            raise ValueError(f"{value!r} is not a proxy URL such as http://host:port")
        return value

    @field_validator("shard")
    @classmethod
    def _shard(cls, value: str | None) -> str | None:
        if value is None:
            return value
        match = re.fullmatch(r"(\d+)/(\d+)", value)
        if not match or not 1 <= int(match[1]) <= int(match[2]):
            raise ValueError(f"{value!r} is not i/n with 1 <= i <= n")
        return value

    @field_validator("connect")
    @classmethod
    def _connect(cls, value: dict[str, str]) -> dict[str, str]:
        for engine, url in value.items():
            if not re.match(r"^wss?://[^/\s]+", url):
                raise ValueError(f"{engine}={url!r} is not a ws:// or wss:// URL")
        return value

    @model_validator(mode="after")
    def _site_names_unique(self) -> Settings:
        names = [site.name for site in self.sites]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"site names must be unique; repeated: {', '.join(duplicates)}")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Highest first: flags, the real environment, .env (which never overrides a real variable, the
        # usual dotenv rule), then the config file. Only LOGINPROBE_* lines of .env are settings: the
        # others are secrets that `*_env` names point at (see Credentials._resolve_env).
        dotenv = DotEnvSettingsSource(settings_cls, dotenv_filtering="match_prefix")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv]
        if cls.toml_file is not None and cls.toml_file.name == PYPROJECT:
            sources.append(PyprojectTomlConfigSettingsSource(settings_cls, toml_file=cls.toml_file))
        elif cls.toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=cls.toml_file))
        return tuple(sources)

    def secrets(self) -> list[str]:
        """Every secret configured for any site, and the proxy's password, for redaction."""
        found = [value for site in self.sites for value in site.credentials.secrets()]
        if self.proxy and proxy_credentials(self.proxy):
            # As written in the URL (percent-encoded) and as sent: the URL shows up in verdicts.
            written = urlsplit(self.proxy).password or ""
            found += [value for value in dict.fromkeys((written, unquote(written))) if value]
        return found


def proxy_credentials(url: str) -> tuple[str, str] | None:
    """The username and password in the proxy URL's userinfo (`http://user:password@host:port`), if any."""
    parts = urlsplit(url)
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")
