"""JSON-lines logging and its redaction guard (todo_common.logs)."""

from __future__ import annotations

import io
import json
import logging
import secrets
from typing import Any

import pytest
from todo_common import logs

pytestmark = pytest.mark.app


class Captured:
    """A logger that writes JSON lines to a buffer (and not to pytest's log capture)."""

    def __init__(self) -> None:
        self.stream = io.StringIO()
        handler = logging.StreamHandler(self.stream)
        handler.setFormatter(logs.JsonFormatter())
        self.logger = logging.getLogger(f"test.logs.{secrets.token_hex(4)}")
        self.logger.handlers[:] = [handler]
        self.logger.propagate = False
        self.logger.setLevel(logging.DEBUG)

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def captured() -> Captured:
    return Captured()


def test_each_record_is_one_json_object_with_extra_fields(captured: Captured) -> None:
    captured.logger.info("task created", extra={"task_id": 7, "route": "/api/tasks"})
    [entry] = captured.lines()
    assert entry["level"] == "info"
    assert entry["logger"] == captured.logger.name
    assert entry["message"] == "task created"
    assert (entry["task_id"], entry["route"]) == (7, "/api/tasks")
    assert str(entry["time"]).endswith("+00:00")


def test_registered_secrets_are_redacted_everywhere(captured: Captured) -> None:
    secret = secrets.token_urlsafe(20)
    logs.register_secret(secret)
    captured.logger.warning("value %s in message", secret, extra={"detail": {"nested": [secret]}})
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        captured.logger.exception("boom")
    assert secret not in captured.stream.getvalue()
    first, second = captured.lines()
    assert first["message"] == "value [REDACTED] in message"
    assert first["detail"] == {"nested": ["[REDACTED]"]}
    assert "RuntimeError: failed with [REDACTED]" in str(second["exception"])


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
        ("headers={'authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
        ("cookie: session=s3cr3t-value; theme=dark", "s3cr3t-value"),
        ("token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl leaked", "c2lnbmF0dXJl"),
        ("connect postgresql://app:hunter2pass@db:5432/todo failed", "hunter2pass"),
        ("GET /cb?code=1&api_key=k-123456&x=1", "k-123456"),
        # psycopg_pool's warning on a refused connection names the role: not who exists.
        (
            "error connecting in 'frontend-0': connection failed: FATAL: password"
            ' authentication failed for user "todo_frontend"',
            "todo_frontend",
        ),
        ('FATAL: role "alice_app" does not exist', "alice_app"),
    ],
)
def test_credential_shapes_are_redacted_without_registration(text: str, hidden: str) -> None:
    redacted = logs.redact(text)
    assert hidden not in redacted
    assert "[REDACTED]" in redacted


def test_short_values_are_not_registered() -> None:
    logs.register_secret("abc")
    assert logs.redact("abc abc") == "abc abc"


def test_configure_logging_sends_everything_to_one_json_handler() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure_logging("warning")
        [handler] = root.handlers
        assert isinstance(handler.formatter, logs.JsonFormatter)
        assert root.level == logging.WARNING
        assert logging.getLogger("uvicorn.error").propagate
        assert logging.getLogger("uvicorn.access").disabled
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        logging.getLogger("uvicorn.access").disabled = False
