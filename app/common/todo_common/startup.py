"""Start-up work on the database that must not crash the process while it is away."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import Response
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from todo_common import web
from todo_common.database import create_pool
from todo_common.logs import DATABASE_NAME, redact
from todo_common.migrations import Migration, MigrationFailed, apply_migrations
from todo_common.readiness import Readiness

logger = logging.getLogger(__name__)

_RETRY_FIRST_SECONDS = 0.5
_RETRY_MAX_SECONDS = 5.0
_MAX_ERROR_CHARS = 500


async def prepare_database(
    database_url: str,
    *,
    namespace: str,
    migrations: Sequence[Migration],
    readiness: Readiness,
) -> None:
    """Apply `migrations`, retrying until the database answers; then mark `readiness` started.

    Run it as a background task from the app's lifespan: the process stays up (live, not
    ready) while the database is unreachable or refuses the connection, so a pod that starts
    before its database recovers by itself; each retry logs why (redacted). A migration whose
    SQL fails would fail again: it marks `readiness` failed, which stops the server with a
    non-zero exit (`todo_common.runner`).
    """
    delay = _RETRY_FIRST_SECONDS
    while True:
        try:
            applied = await apply_migrations(
                database_url, namespace=namespace, migrations=migrations
            )
        except MigrationFailed as exc:
            logger.critical(
                "database migration failed; the process stops",
                extra={"namespace": namespace, "error": describe_error(exc)},
            )
            readiness.mark_failed()
            return
        except (psycopg.Error, OSError) as exc:
            logger.warning(
                "database not ready for migrations, retrying",
                extra={"namespace": namespace, "error": describe_error(exc), "retry_in_s": delay},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX_SECONDS)
            continue
        logger.info(
            "database schema is up to date",
            extra={"namespace": namespace, "applied_versions": applied},
        )
        readiness.mark_started()
        return


@contextlib.asynccontextmanager
async def database_lifespan(
    database_url: str,
    *,
    pool_name: str,
    namespace: str,
    migrations: Sequence[Migration],
    readiness: Readiness,
) -> AsyncIterator[AsyncConnectionPool]:
    """Open the app's pool and migrate in the background (`prepare_database`) while it runs.

    On exit `readiness` turns to "shutting down", a migration still retrying is cancelled
    and the pool is closed.
    """
    pool = create_pool(database_url, name=pool_name)
    await pool.open(wait=False)
    preparing = asyncio.create_task(
        prepare_database(
            database_url, namespace=namespace, migrations=migrations, readiness=readiness
        )
    )
    try:
        yield pool
    finally:
        readiness.mark_shutting_down()
        preparing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await preparing
        await pool.close()


def answer_database_errors(app: FastAPI, *, detail: str, logger: logging.Logger) -> None:
    """Answer 503 with `detail` when the database is away, logged (type only) on `logger`."""

    async def database_unavailable(request: Request, exc: Exception) -> Response:
        logger.warning("database unavailable", extra={"error": type(exc).__name__})
        return web.json_error(503, detail)

    app.add_exception_handler(psycopg.OperationalError, database_unavailable)
    app.add_exception_handler(PoolTimeout, database_unavailable)


def describe_error(exc: BaseException) -> str:
    """Return the error's type and message on one line, with credentials redacted.

    libpq's messages say what went wrong ("password authentication failed for user ...",
    "no pg_hba.conf entry ... no encryption", "Connection refused") without the password;
    the role and database they name become DATABASE_URL's (a log must not tell who exists),
    and `redact` also removes any registered secret and any password inside a URL.
    """
    message = DATABASE_NAME.sub(r"\1 of DATABASE_URL", " ".join(str(exc).split()))
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return redact(text)[:_MAX_ERROR_CHARS]
