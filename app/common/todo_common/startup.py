"""Start-up work on the database that must not crash the process while it is away."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import psycopg

from todo_common.migrations import Migration, apply_migrations
from todo_common.readiness import Readiness

logger = logging.getLogger(__name__)

_RETRY_FIRST_SECONDS = 0.5
_RETRY_MAX_SECONDS = 5.0


async def prepare_database(
    database_url: str,
    *,
    namespace: str,
    migrations: Sequence[Migration],
    readiness: Readiness,
) -> None:
    """Apply `migrations`, retrying until the database answers; then mark `readiness` started.

    Run it as a background task from the app's lifespan: the process stays up (live, not
    ready) while the database is unreachable, so a pod that starts before its database
    recovers by itself.
    """
    delay = _RETRY_FIRST_SECONDS
    while True:
        try:
            applied = await apply_migrations(
                database_url, namespace=namespace, migrations=migrations
            )
        except (psycopg.Error, OSError) as exc:
            logger.warning(
                "database not ready for migrations, retrying",
                extra={"namespace": namespace, "error": type(exc).__name__, "retry_in_s": delay},
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
