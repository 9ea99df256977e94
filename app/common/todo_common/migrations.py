"""Versioned schema migrations, safe when several replicas start at the same time.

Each app owns a namespace (`"backend"`, `"frontend"`) and a list of `Migration`s with
increasing versions. `apply_migrations` takes a PostgreSQL advisory lock shared by all
namespaces, so concurrent starters wait for each other; then it applies, each in its own
transaction, the versions not yet recorded in `schema_migrations` for that namespace.
Running it again applies nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

logger = logging.getLogger(__name__)

# Any fixed 64-bit number; it only has to be the same for every replica of every app.
MIGRATION_LOCK_KEY = 7_431_220_981_555_001


@dataclass(frozen=True, kw_only=True)
class Migration:
    """One schema change: `version` orders it within its namespace, `sql` runs in one go."""

    version: int
    description: str
    sql: str


async def apply_migrations(
    database_url: str, *, namespace: str, migrations: Sequence[Migration]
) -> list[int]:
    """Apply the migrations of `namespace` not yet applied; return the versions applied."""
    versions = [migration.version for migration in migrations]
    if versions != sorted(set(versions)) or any(version < 1 for version in versions):
        raise ValueError(f"migration versions must be unique, increasing and >= 1: {versions}")
    applied_now: list[int] = []
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", [MIGRATION_LOCK_KEY])
        try:
            await conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    namespace text NOT NULL,
                    version integer NOT NULL,
                    description text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (namespace, version)
                )
                """
            )
            cursor = await conn.execute(
                "SELECT version FROM schema_migrations WHERE namespace = %s", [namespace]
            )
            done = {row[0] for row in await cursor.fetchall()}
            for migration in migrations:
                if migration.version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql.encode())
                    await conn.execute(
                        "INSERT INTO schema_migrations (namespace, version, description)"
                        " VALUES (%s, %s, %s)",
                        [namespace, migration.version, migration.description],
                    )
                applied_now.append(migration.version)
                logger.info(
                    "migration applied",
                    extra={
                        "namespace": namespace,
                        "version": migration.version,
                        "description": migration.description,
                    },
                )
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", [MIGRATION_LOCK_KEY])
    return applied_now
