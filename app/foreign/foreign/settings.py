"""The variables each command reads, checked at start: a bad one ends the process at once."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn
from urllib.parse import urlsplit

CONFIG_ERROR_EXIT_CODE = 2
JWT_SECRET_MIN_CHARS = 32
PROVIDER_KEYS = {"openai": "OPENAI_API_KEY", "gemini": "GEMINI_API_KEY"}
ROLES = ("backend", "frontend")
DEFAULT_PORT = 8080


class ConfigError(Exception):
    """A variable is missing or malformed; the message names it, never its value."""


@dataclass(frozen=True)
class Settings:
    """What `serve` needs; `api_url` only for the frontend, `llm_provider` only for the backend."""

    role: str
    database_url: str
    port: int
    greeting: str
    api_url: str = ""
    llm_provider: str = ""


def required(env: Mapping[str, str], name: str) -> str:
    """Return a variable that must be set and not blank."""
    value = env.get(name, "")
    if not value.strip():
        raise ConfigError(f"{name} is missing")
    return value


def database_url(env: Mapping[str, str]) -> str:
    """Return DATABASE_URL once it looks like a PostgreSQL URL naming a host and a database."""
    value = required(env, "DATABASE_URL")
    if not value.startswith(("postgresql://", "postgres://")):
        raise ConfigError("DATABASE_URL is malformed: must start with postgresql://")
    parts = urlsplit(value)
    try:
        port_number = parts.port
    except ValueError:
        port_number = 0
    if port_number == 0:
        raise ConfigError("DATABASE_URL is malformed: its port must be 1 to 65535")
    if not parts.hostname or parts.path in ("", "/"):
        raise ConfigError("DATABASE_URL is malformed: must name a host and a database")
    return value


def port(env: Mapping[str, str]) -> int:
    """Return PORT (default 8080)."""
    text = env.get("PORT", str(DEFAULT_PORT))
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError("PORT is malformed: must be a number from 1 to 65535")
    return int(text)


def serve_settings(role: str, env: Mapping[str, str] = os.environ) -> Settings:
    """Check every variable the role reads; return them."""
    if role not in ROLES:
        raise ConfigError(f"the role must be one of {', '.join(ROLES)}, got {role!r}")
    url = database_url(env)
    if len(required(env, "JWT_SECRET")) < JWT_SECRET_MIN_CHARS:
        raise ConfigError(
            f"JWT_SECRET is malformed: must be at least {JWT_SECRET_MIN_CHARS} characters"
        )
    listen = port(env)
    greeting = env.get("GREETING", "hello")
    if role == "frontend":
        api_url = required(env, "API_URL")
        if not api_url.startswith(("http://", "https://")):
            raise ConfigError("API_URL is malformed: must start with http:// or https://")
        return Settings(role, url, listen, greeting, api_url=api_url.rstrip("/"))
    provider = required(env, "LLM_PROVIDER")
    if provider not in PROVIDER_KEYS:
        raise ConfigError(f"LLM_PROVIDER is malformed: must be one of {', '.join(PROVIDER_KEYS)}")
    required(env, PROVIDER_KEYS[provider])
    return Settings(role, url, listen, greeting, llm_provider=provider)


def exit_on_config_error(error: ConfigError) -> NoReturn:
    """End the process with the one line the contract promises."""
    print(f"config error: {error}", file=sys.stderr, flush=True)
    sys.exit(CONFIG_ERROR_EXIT_CODE)
