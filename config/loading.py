"""Loading settings: the config file found (--config, `loginprobe.toml`, a `pyproject.toml` table), read,
and every source merged into `Settings`; any invalid value becomes one `ConfigError` line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from loginprobe.config.settings import CONFIG_FILE, DOTENV, PYPROJECT, Settings
from loginprobe.errors import ConfigError


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming the first invalid field and what is wrong with it."""
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"]) or "settings"
    message = first["msg"].removeprefix("Value error, ")
    given = first.get("input")
    shown = ""
    if first["type"] not in ("missing", "value_error") and isinstance(given, str | int | float):
        shown = f" (got {given!r})"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{location}: {message}{shown}{more}"


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{label}: {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{label}: cannot read {path}: {exc.strerror or exc}") from None


def _has_tool_table(data: dict[str, Any]) -> bool:
    tool = data.get("tool")
    return isinstance(tool, dict) and "loginprobe" in tool


def discover_config(folder: Path) -> Path | None:
    """The config used without --config: `loginprobe.toml` in `folder`, else its `pyproject.toml` when
    that has a `[tool.loginprobe]` table, else None."""
    candidate = folder / CONFIG_FILE
    if candidate.is_file():
        return candidate
    pyproject = folder / PYPROJECT
    if pyproject.is_file() and _has_tool_table(_read_toml(pyproject, PYPROJECT)):
        return pyproject
    return None


def load_settings(
    config: Path | None = None, *, discover: Path | None = None, label: str = "--config", **overrides: Any
) -> Settings:
    """Build settings from every source; any invalid value becomes a one-line `ConfigError`.

    `config` is the file given with --config (a `pyproject.toml` is read from its `[tool.loginprobe]`);
    without one, `discover` names the folder searched by `discover_config` (the CLI passes the working
    directory; library callers pass nothing and get no file). `label` names where `config` came from
    in error messages.
    """
    if config is None and discover is not None:
        config, label = discover_config(discover), "config"
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"{label}: {str(config)!r} is not a file")
        data = _read_toml(config, label)
        if config.name == PYPROJECT and not _has_tool_table(data):
            raise ConfigError(f"{label}: {config} has no [tool.loginprobe] table")
    # A subclass carries the TOML path so that concurrent loads never share it (and, for a
    # pyproject.toml, the table to read: set only then, since pydantic-settings warns of an unused key).
    namespace: dict[str, Any] = {"toml_file": config}
    if config is not None and config.name == PYPROJECT:
        namespace["model_config"] = SettingsConfigDict(pyproject_toml_table_header=("tool", "loginprobe"))
    bound = cast("type[Settings]", type("BoundSettings", (Settings,), namespace))
    from dotenv import dotenv_values

    env_file = Settings.model_config.get("env_file")
    dotenv = dotenv_values(env_file) if isinstance(env_file, str) and Path(env_file).is_file() else {}
    token = DOTENV.set(dotenv)
    try:
        settings = bound(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(f"invalid setting {describe_validation_error(exc)}") from None
    except ValueError as exc:  # pydantic-settings raises SettingsError (a ValueError) on undecodable env
        raise ConfigError(f"invalid setting: {exc}") from None
    finally:
        DOTENV.reset(token)
    return settings
