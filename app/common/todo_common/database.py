"""PostgreSQL connection pool and health ping (psycopg 3).

URLs are handed to libpq unchanged, so managed-database URLs such as Neon's
(`...?sslmode=require&channel_binding=require`) work as they are.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 5


def create_pool(
    database_url: str, *, name: str, min_size: int = 1, max_size: int = 10
) -> AsyncConnectionPool:
    """Return an unopened pool; open it with `await pool.open(wait=False)`.

    Connections are checked before each use, so a database restart costs one failed
    check per stale connection rather than a failed request; when the database is away the
    pool keeps trying to reconnect in the background and the process stays up.
    Connections are in autocommit mode: group statements with `conn.transaction()`.
    """
    return AsyncConnectionPool(
        database_url,
        name=name,
        min_size=min_size,
        max_size=max_size,
        open=False,
        check=AsyncConnectionPool.check_connection,
        kwargs={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "application_name": name[:63],
            # Each statement commits at once; multi-statement work uses conn.transaction().
            "autocommit": True,
        },
        # A request waits this long for a connection before it fails (503).
        timeout=3,
        # psycopg_pool retries a lost connection with a doubling delay; stopping the series
        # after a few seconds lets the next request (or readiness probe) reconnect at once,
        # so recovery after a long outage does not wait for a minute-long back-off.
        reconnect_timeout=5,
    )


async def ping(pool: AsyncConnectionPool, *, timeout_seconds: float) -> bool:
    """Return whether `SELECT 1` answers within `timeout_seconds`."""
    try:
        async with asyncio.timeout(timeout_seconds):
            async with pool.connection(timeout=timeout_seconds) as conn:
                await conn.execute("SELECT 1")
        return True
    except (TimeoutError, PoolTimeout, psycopg.Error) as exc:
        logger.warning("database ping failed", extra={"error": type(exc).__name__})
        return False
