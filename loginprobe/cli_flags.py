"""The command line's own flags turned into settings: a site given by flags, ENGINE=VALUE pairs, --site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from loginprobe.errors import ConfigError
from loginprobe.evidence import ENGINES, Engine


def parse_pairs(values: list[str] | None, flag: str) -> dict[Engine, str] | None:
    if not values:
        return None
    pairs: dict[Engine, str] = {}
    for value in values:
        engine, sep, rest = value.partition("=")
        if not sep or engine not in ENGINES:
            raise ConfigError(
                f"{flag}: expected ENGINE=VALUE with ENGINE one of {', '.join(ENGINES)}, got {value!r}"
            )
        pairs[engine] = rest
    return pairs


def site_from_flags(
    url: str | None,
    flow: str | None,
    protected_url: str | None,
    username: str | None,
    password_env: str | None,
    token_env: str | None,
    api_key_env: str | None,
    script: Path | None,
    name: str | None,
) -> list[dict[str, Any]] | None:
    if url is None:
        if any(
            v is not None
            for v in (flow, protected_url, username, password_env, token_env, api_key_env, script)
        ):
            raise ConfigError(
                "--flow, --protected-url and the credential flags describe a site: give --url too"
            )
        return None
    credentials = {
        key: value
        for key, value in {
            "username": username,
            "password_env": password_env,
            "token_env": token_env,
            "api_key_env": api_key_env,
        }.items()
        if value is not None
    }
    site: dict[str, Any] = {
        "name": name or "site",
        "url": url,
        "flow": flow or "form",
        "credentials": credentials,
    }
    if protected_url:
        site["protected_url"] = protected_url
    if script:
        site["script"] = script
    return [site]


def pick_sites(settings: Any, names: list[str] | None) -> Any:
    """`--site NAME` (repeatable): only these sites of the config, in the order given."""
    if not names:
        return settings
    known = {site.name: site for site in settings.sites}
    unknown = [name for name in names if name not in known]
    if unknown:
        configured = ", ".join(known) or "none"
        raise ConfigError(f"--site: no site named {', '.join(map(repr, unknown))}; configured: {configured}")
    return settings.model_copy(update={"sites": [known[name] for name in dict.fromkeys(names)]})
