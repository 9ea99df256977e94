"""The start-up loop (todo_common.startup): retries that say why, and no retry of broken SQL."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import pytest
from support.logs import secret_values_of_database_url
from support.postgres import PostgresServer
from support.secret import Secret
from todo_common.migrations import Migration
from todo_common.readiness import Readiness
from todo_common.startup import prepare_database

pytestmark = pytest.mark.app

MIGRATIONS = [Migration(version=1, description="notes", sql="CREATE TABLE notes (id int)")]


def with_password(url: str, password: str) -> Secret:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port}"
    return Secret(urlunsplit(parts._replace(netloc=netloc)))


def retry_warnings(url: str, caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Run `prepare_database` until it has logged two retries; return them."""
    readiness = Readiness()

    async def until_two_retries() -> None:
        preparing = asyncio.create_task(
            prepare_database(url, namespace="notes", migrations=MIGRATIONS, readiness=readiness)
        )
        while len(warnings()) < 2:
            assert not preparing.done()
            await asyncio.sleep(0.05)
        preparing.cancel()

    def warnings() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.getMessage().startswith("database not ready")]

    with caplog.at_level(logging.WARNING, logger="todo_common.startup"):
        asyncio.run(asyncio.wait_for(until_two_retries(), timeout=15))
    assert readiness.not_ready_reason == "starting"
    return warnings()


@pytest.mark.parametrize(
    ("break_url", "reason"),
    [
        (lambda url: with_password(url, secrets.token_urlsafe(16)), "password authentication"),
        (lambda url: Secret(url.replace("sslmode=require", "sslmode=disable")), "no encryption"),
    ],
    ids=["wrong-password", "tls-required"],
)
def test_retries_name_the_reason_without_any_secret(
    postgres: PostgresServer,
    caplog: pytest.LogCaptureFixture,
    break_url: Callable[[str], Secret],
    reason: str,
) -> None:
    good_url = postgres.create_database()
    bad_url = break_url(good_url)
    records = retry_warnings(bad_url, caplog)
    errors = [str(record.__dict__["error"]) for record in records]
    assert all(error.startswith("OperationalError: ") and reason in error for error in errors)
    logged = "\n".join(errors)
    # The error names the variable, never the role: a log must not tell who exists.
    assert f'"{urlsplit(good_url).username}"' not in logged
    if reason == "password authentication":
        assert all("user of DATABASE_URL" in error for error in errors), errors
    for value in [
        *secret_values_of_database_url(good_url),
        *secret_values_of_database_url(bad_url),
    ]:
        assert not value or value not in logged, "a secret appears in the log"


def test_a_failing_migration_is_not_retried_and_marks_the_start_failed(
    postgres: PostgresServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = postgres.create_database()
    broken = [Migration(version=1, description="typo", sql="CREAT TABLE notes (id int)")]
    readiness = Readiness()
    with caplog.at_level(logging.INFO, logger="todo_common.startup"):
        asyncio.run(
            asyncio.wait_for(
                prepare_database(url, namespace="notes", migrations=broken, readiness=readiness),
                timeout=15,
            )
        )
    assert readiness.failed
    assert readiness.not_ready_reason == "start-up failed"
    [record] = caplog.records
    assert record.levelno == logging.CRITICAL
    assert record.__dict__["error"] == (
        'MigrationFailed: migration notes 1 (typo) failed: syntax error at or near "CREAT"'
        " (SQLSTATE 42601)"
    )
