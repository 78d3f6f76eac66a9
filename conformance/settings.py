"""Run settings merged from the command line, the environment and a TOML file.

Precedence is command line > environment > config file: CI keeps secrets in the environment and a shared
file in the repository, and a developer can still override any value on the command line.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance.errors import FileError, UsageError
from openapi import CONTRACT_SPEC

__all__ = ["FileError", "Settings", "UsageError", "resolve"]

ENV_PREFIX = "SONARLY_"
PROFILES = ("quick", "default", "thorough")
REQUIRED = ("base_url", "api_key", "account_group_id", "prospect_id")
SECRET_OPTIONS = ("api_key", "restricted_api_key")
LIST_OPTIONS = ("header", "only", "skip")
NO_DATABASE = "none"
_HEADER = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$")


@dataclass(frozen=True)
class Settings:
    """Everything one run needs; optional fixtures left as None make their checks skip."""

    base_url: str
    api_key: str
    account_group_id: str
    prospect_id: str
    conversation_id: str | None = None
    inmail_prospect_id: str | None = None
    restricted_api_key: str | None = None
    foreign_account_group_id: str | None = None
    spec: Path = CONTRACT_SPEC
    profile: str = "default"
    max_examples: int | None = None
    seed: int | None = None
    max_time: float | None = None
    clock_skew: float = 60.0
    request_timeout: float = 30.0
    header: tuple[str, ...] = ()
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    hypothesis_database: str | None = None
    junit_xml: Path | None = None
    verbose: bool = False

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never appear in any output (gateway header values included)."""
        keys = tuple(value for name in SECRET_OPTIONS if (value := getattr(self, name)))
        return keys + tuple(value for _, value in self.extra_headers if value)

    @property
    def extra_headers(self) -> tuple[tuple[str, str], ...]:
        """`--header 'Name: value'` options as (name, value) pairs, validated by `resolve`."""
        return tuple(_split_header(text) for text in self.header)

    @property
    def database_path(self) -> Path | None:
        """Where Hypothesis keeps failing examples: the option, else a per-user cache, never the cwd."""
        if self.hypothesis_database is not None:
            return None if self.hypothesis_database.lower() == NO_DATABASE else Path(self.hypothesis_database)
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(cache) / "sonarly-conformance" / "hypothesis"


OPTION_NAMES = tuple(field.name for field in fields(Settings))
_CONVERTERS: dict[str, Any] = {
    "spec": Path,
    "junit_xml": Path,
    "max_examples": int,
    "seed": int,
    "max_time": float,
    "clock_skew": float,
    "request_timeout": float,
}


def _split_header(text: str) -> tuple[str, str]:
    match = _HEADER.match(text)
    if match is None or "\r" in text or "\n" in text:
        raise UsageError(f"--header must look like 'Name: value', got {text.split(':')[0]!r}...")
    return match.group(1), match.group(2)


def _as_list(name: str, value: Any) -> tuple[str, ...]:
    """A repeatable option: a TOML list, repeated flags, or one environment string (headers one per line)."""
    if isinstance(value, str):
        parts = value.splitlines() if name == "header" else re.split(r"[,\s]+", value)
        return tuple(part for part in parts if part.strip())
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"expected a list of strings, got {value!r}")


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def read_config_file(path: Path) -> dict[str, Any]:
    """Read a flat TOML file whose keys are option names with underscores."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileError(f"config file {path} does not exist (--config)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FileError(
            f"config file {path} cannot be read (--config): {getattr(exc, 'strerror', None) or exc}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(OPTION_NAMES) - {"config"})
    if unknown:
        raise UsageError(f"config file {path} has unknown keys: {', '.join(unknown)}")
    return data


def read_environment(environ: dict[str, str]) -> dict[str, Any]:
    """Collect SONARLY_<OPTION> variables; empty values count as unset."""
    return {
        name: environ[key]
        for name in (*OPTION_NAMES, "config")
        if (key := ENV_PREFIX + name.upper()) in environ and environ[key] != ""
    }


def _convert(name: str, value: Any) -> Any:
    try:
        if name == "verbose":
            return _parse_bool(value)
        if name in LIST_OPTIONS:
            return _as_list(name, value)
        converter = _CONVERTERS.get(name, str)
        return converter(value)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"option {name}: {exc}") from None


def _validate(values: dict[str, Any]) -> None:
    missing = [name for name in REQUIRED if not values.get(name)]
    if missing:
        flags = ", ".join("--" + name.replace("_", "-") for name in missing)
        raise UsageError(f"missing required option(s): {flags} (or {ENV_PREFIX}<NAME>, or the config file)")
    url = urlsplit(values["base_url"])
    if url.scheme not in {"http", "https"} or not url.netloc:
        raise UsageError(f"--base-url must be an http(s) URL, got {values['base_url']!r}")
    if values.get("profile", "default") not in PROFILES:
        raise UsageError(f"--profile must be one of {', '.join(PROFILES)}, got {values['profile']!r}")
    for name in ("max_examples", "max_time", "request_timeout"):
        if values.get(name) is not None and values[name] <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be positive")
    if values.get("clock_skew") is not None and values["clock_skew"] < 0:
        raise UsageError("--clock-skew must not be negative")
    for text in values.get("header", ()):
        _split_header(text)


def resolve(cli: dict[str, Any], environ: dict[str, str] | None = None) -> Settings:
    """Merge the three sources (CLI > env > file) and validate the result."""
    env = read_environment(dict(os.environ) if environ is None else environ)
    config_path = cli.get("config") or env.get("config")
    from_file = read_config_file(Path(config_path)) if config_path else {}
    merged: dict[str, Any] = {}
    for source in (from_file, env, cli):
        merged.update({k: v for k, v in source.items() if v is not None and v != () and k != "config"})
    values = {name: _convert(name, value) for name, value in merged.items()}
    values["base_url"] = str(values.get("base_url", "")).rstrip("/")
    _validate(values)
    return Settings(**values)
