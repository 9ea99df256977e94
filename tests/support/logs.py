"""Assertions on what an app process printed: JSON lines only, and never a secret."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from urllib.parse import unquote, urlsplit

SECRET_VARIABLES = ("DATABASE_URL", "BETTER_AUTH_SECRET", "OPENAI_API_KEY", "GEMINI_API_KEY")
"""The app images' variables whose values are secret (docs/contract.md)."""


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Return every value of `env` that must never be printed, database passwords included."""
    values = [env[name] for name in SECRET_VARIABLES if env.get(name)]
    password = urlsplit(env.get("DATABASE_URL", "")).password
    return [*values, *([password, unquote(password)] if password else [])]


def secret_values_of_database_url(url: str) -> list[str]:
    """Return the URL itself and its password (raw and percent-decoded)."""
    password = urlsplit(url).password or ""
    return [url, password, unquote(password)]


def assert_json_log_without_secrets(output: str, secrets: Iterable[str]) -> list[dict[str, object]]:
    """Assert every line of `output` is a JSON object and no secret appears; return the lines.

    A failure names the line number and the kind of problem, never the secret itself, so the
    assertion message cannot leak what it protects.
    """
    for index, secret in enumerate(s for s in secrets if s):
        if secret in output:
            raise AssertionError(f"secret #{index} appears in the log output")
    entries = []
    for number, line in enumerate(output.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            raise AssertionError(f"line {number} is not JSON: {line[:200]!r}") from None
        assert isinstance(entry, dict), f"line {number} is not a JSON object"
        assert {"time", "level", "message"} <= entry.keys(), f"line {number} lacks fields"
        entries.append(entry)
    return entries
