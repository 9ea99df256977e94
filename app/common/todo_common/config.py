"""Fail-fast configuration from environment variables (pydantic-settings).

An app declares its variables on a `CommonSettings` subclass (UPPER_CASE fields, no
defaults for secrets) and loads it once in its entry point with `load_settings`. A missing
or malformed variable ends the process with exit code 2 and one line on stderr that names
the variable and never shows its value:

    config error: DATABASE_URL is missing
    config error: BETTER_AUTH_SECRET is malformed: must be at least 32 characters
"""

from __future__ import annotations

import socket
import sys
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn, Self, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from todo_contract import LOG_LEVELS, MIN_AUTH_SECRET_LENGTH

from todo_common.logs import register_secret

CONFIG_ERROR_EXIT_CODE = 2
DEFAULT_METRICS_PORT = 9090
"""Port of `/metrics` (docs/contract.md); the chart's `containerPorts.metrics` default."""

# Values people leave in a template; lower-cased, compared after stripping `<>`, quotes, `_-`.
_PLACEHOLDERS = {
    "changeme",
    "changemeplease",
    "replaceme",
    "replacemewithasecret",
    "secret",
    "password",
    "placeholder",
    "example",
    "todo",
    "fixme",
    "yoursecret",
    "yourapikey",
    "apikey",
    "none",
    "null",
}


def _looks_like_placeholder(value: str) -> bool:
    normalized = "".join(ch for ch in value.lower() if ch.isalnum())
    if normalized in _PLACEHOLDERS or "changeme" in normalized or "replaceme" in normalized:
        return True
    # "xxxxxxxx", "********", "00000000": one repeated character is never a real secret.
    return len(set(value)) == 1 or (value.startswith("<") and value.endswith(">"))


def _check_secret(value: SecretStr) -> SecretStr:
    raw = value.get_secret_value()
    if raw != raw.strip():
        raise ValueError("must not start or end with whitespace")
    if _looks_like_placeholder(raw):
        raise ValueError("looks like a placeholder, set a real secret")
    return value


SecretText = Annotated[SecretStr, AfterValidator(_check_secret)]
"""A secret variable: hidden from repr and logs; template placeholders are rejected."""


def min_chars(length: int) -> AfterValidator:
    """Return a validator for `Annotated[SecretText, min_chars(32)]`: at least `length` chars."""

    def check(value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < length:
            raise ValueError(f"must be at least {length} characters")
        return value

    return AfterValidator(check)


def _check_database_url(value: SecretStr) -> SecretStr:
    raw = value.get_secret_value()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ValueError("must be a postgresql://user:password@host:port/db URL") from None
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError("must start with postgresql:// (or postgres://)")
    if not parts.hostname:
        raise ValueError("must name a host: postgresql://user:password@host:port/db")
    if port == 0:
        raise ValueError("has an invalid port")
    if not parts.path.strip("/"):
        raise ValueError("must name a database: postgresql://user:password@host:port/db")
    if parts.password and _looks_like_placeholder(unquote(parts.password)):
        raise ValueError("has a placeholder password, set the real one")
    return value


DatabaseUrl = Annotated[SecretStr, AfterValidator(_check_database_url)]
"""A `postgres(ql)://` URL with host and database; kept secret (it holds a password)."""

# pydantic checks the `Literal`; mypy cannot read one of a tuple, so it checks a plain string.
if TYPE_CHECKING:
    LogLevelName = str
else:
    LogLevelName = Literal[LOG_LEVELS]

LogLevel = Annotated[
    LogLevelName,
    BeforeValidator(lambda value: value.strip().lower() if isinstance(value, str) else value),
]
AuthSecret = Annotated[SecretText, min_chars(MIN_AUTH_SECRET_LENGTH)]
"""BETTER_AUTH_SECRET, which signs sessions and tokens."""


class CommonSettings(BaseSettings):
    """Variables every image reads (see docs/contract.md)."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore")

    if TYPE_CHECKING:
        # Each app declares PORT itself, with its own default (contract: 8000, 3000).
        PORT: int
    LOG_LEVEL: LogLevel = "info"
    # The pod name from the downward API; the host name outside Kubernetes.
    INSTANCE_NAME: str = Field(default_factory=socket.gethostname, min_length=1, max_length=253)
    # How long the server keeps accepting requests after SIGTERM while /readyz answers 503,
    # so that Services stop routing to it before it stops listening.
    SHUTDOWN_DRAIN_SECONDS: float = Field(default=2.0, ge=0, le=120)
    # Port of `GET /metrics`, apart from PORT so that no route to the app reaches it.
    METRICS_PORT: int = Field(default=DEFAULT_METRICS_PORT, ge=1, le=65535)

    @model_validator(mode="after")
    def _metrics_port_apart(self) -> Self:
        # PORT is each app's own field (its default differs); uvicorn would fail to bind.
        if getattr(self, "PORT", None) == self.METRICS_PORT:
            raise ValueError("METRICS_PORT must differ from PORT")
        return self


SettingsT = TypeVar("SettingsT", bound=BaseSettings)
AppSettingsT = TypeVar("AppSettingsT", bound=CommonSettings)


def load_settings(settings_class: type[SettingsT]) -> SettingsT:
    """Load `settings_class` from the environment or exit 2 with one line naming the variable.

    Every secret value (and the password inside a database URL) is registered with the log
    redactor, so that it can never appear in a log line.
    """
    try:
        settings = settings_class()
    except ValidationError as exc:
        _exit_with(_describe(exc))
    for value in settings.model_dump().values():
        if isinstance(value, SecretStr):
            _register_secret_value(value.get_secret_value())
    return settings


def _register_secret_value(raw: str) -> None:
    register_secret(raw)
    if raw.startswith(("postgres://", "postgresql://")):
        try:
            password = urlsplit(raw).password
        except ValueError:
            return
        if password:
            register_secret(password)
            register_secret(unquote(password))


def _describe(exc: ValidationError) -> str:
    """Return one line for all errors of `exc`, naming variables and never their values."""
    problems = []
    for error in exc.errors(include_url=False, include_input=True):
        name = ".".join(str(part) for part in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        bad_input = error.get("input")
        # pydantic's messages name limits, not inputs; this guards against one that would.
        # Values this short are not secrets and would garble numbers in the message.
        if isinstance(bad_input, str) and len(bad_input) >= 4 and bad_input in message:
            message = message.replace(bad_input, "<value>")
        if not name:
            problems.append(message)
        elif error["type"] == "missing":
            problems.append(f"{name} is missing")
        else:
            problems.append(f"{name} is malformed: {message}")
    return "; ".join(problems)


def _exit_with(problem: str) -> NoReturn:
    print(f"config error: {problem}", file=sys.stderr, flush=True)
    raise SystemExit(CONFIG_ERROR_EXIT_CODE)
