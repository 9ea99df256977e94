"""JSON-lines logging on stdout that never writes a secret.

Every record (message, extra fields, exception text) goes through `redact`, which replaces
the values registered with `register_secret` (filled by `todo_common.config.load_settings`
from every secret setting) and anything shaped like a credential: bearer tokens, JWTs,
`Authorization`/`Cookie` header values, passwords inside database URLs and the database role
names of libpq's errors.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from datetime import UTC, datetime
from typing import Any

REDACTED = "[REDACTED]"
# Shorter values would redact ordinary words; real secrets are far longer.
_MIN_SECRET_LENGTH = 6
_secrets: set[str] = set()
_secrets_lock = threading.Lock()

# The role or database a libpq error names (`password authentication failed for user "todo"`,
# also quoted by psycopg_pool's warnings): a log must not tell which roles exist.
DATABASE_NAME = re.compile(r'\b(user|role|database) "[^"]*"')

_CREDENTIAL_PATTERNS = [
    # Header values, as written by HTTP libraries or in "name: value" / "name=value" form.
    (
        re.compile(
            r"(?i)\b(authorization|proxy-authorization|cookie|set-cookie|x-api-key)"
            r"(['\"]?\s*[:=,]\s*['\"]?)[^'\"\n]+"
        ),
        rf"\1\2{REDACTED}",
    ),
    (re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"), f"Bearer {REDACTED}"),
    # A JWT anywhere: header.payload.signature, base64url, header starts with '{"'.
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"(?i)(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@"), rf"\1{REDACTED}@"),
    (re.compile(r"(?i)(password|passwd|secret|api[_-]?key|token)=[^&\s'\"]+"), rf"\1={REDACTED}"),
    (DATABASE_NAME, rf'\1 "{REDACTED}"'),
]

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged.
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
    "taskName",
}


def register_secret(value: str | None) -> None:
    """Remember `value` so that it is replaced by `[REDACTED]` wherever it would be logged."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Return `text` with registered secrets and credential-shaped substrings replaced."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _CREDENTIAL_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    if isinstance(value, dict):
        return {str(key): _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_value(item) for item in value]
    return redact(str(value))


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object: time, level, logger, message, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the redacted JSON line of `record`."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = _redact_value(value)
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "info") -> None:
    """Send every logger (uvicorn's included) to stdout as redacted JSON lines at `level`."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    # The middleware logs each request itself (route template, status, duration).
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request URL at INFO; only its warnings are worth a line.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, root.level))
