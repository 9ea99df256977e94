"""Versioned schema migrations, safe when several replicas start at the same time.

Each app owns a namespace (`"backend"`, `"frontend"`) and a list of `Migration`s with
increasing versions. `apply_migrations` applies, in one transaction, the versions not yet
recorded in `schema_migrations` for that namespace, under a transaction-level PostgreSQL
advisory lock shared by all namespaces: concurrent starters wait for each other, and a
failure leaves the schema as it was. The lock ends with the transaction, so it also holds
behind a transaction-mode connection pooler (Neon's `-pooler` host), where a session-level
unlock could run on another server session. Running it again applies nothing.

The apps may connect as different roles (least privilege), each owning the tables its
migrations create; `schema_migrations` is shared: every role may read it and add rows.

Every migration must therefore be transactional SQL (no `CREATE INDEX CONCURRENTLY`, no
`VACUUM`). A migration whose SQL fails raises `MigrationFailed`: retrying cannot fix it.
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


class MigrationFailed(Exception):
    """The database refused a migration's SQL; the message names it and gives the reason."""


async def apply_migrations(
    database_url: str, *, namespace: str, migrations: Sequence[Migration]
) -> list[int]:
    """Apply the migrations of `namespace` not yet applied; return the versions applied.

    Raises `MigrationFailed` when a migration's SQL fails, and psycopg's `OperationalError`
    (or `OSError`) when the database cannot be reached or the connection breaks.
    """
    versions = [migration.version for migration in migrations]
    if versions != sorted(set(versions)) or any(version < 1 for version in versions):
        raise ValueError(f"migration versions must be unique, increasing and >= 1: {versions}")
    applied_now: list[Migration] = []
    async with (
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn,
        conn.transaction(),
    ):
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK_KEY])
        cursor = await conn.execute("SELECT to_regclass('schema_migrations') IS NULL")
        row = await cursor.fetchone()
        if row is not None and row[0]:
            await conn.execute(
                """
                CREATE TABLE schema_migrations (
                    namespace text NOT NULL,
                    version integer NOT NULL,
                    description text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (namespace, version)
                )
                """
            )
            # Whichever app comes first creates the table; the other app's role (each has
            # its own, owning only its tables) must read and add its rows too.
            await conn.execute("GRANT SELECT, INSERT ON schema_migrations TO PUBLIC")
        cursor = await conn.execute(
            "SELECT version FROM schema_migrations WHERE namespace = %s", [namespace]
        )
        done = {row[0] for row in await cursor.fetchall()}
        for migration in migrations:
            if migration.version in done:
                continue
            await _run(conn, namespace, migration)
            await conn.execute(
                "INSERT INTO schema_migrations (namespace, version, description)"
                " VALUES (%s, %s, %s)",
                [namespace, migration.version, migration.description],
            )
            applied_now.append(migration)
    for migration in applied_now:
        logger.info(
            "migration applied",
            extra={
                "namespace": namespace,
                "version": migration.version,
                "description": migration.description,
            },
        )
    return [migration.version for migration in applied_now]


async def _run(conn: psycopg.AsyncConnection, namespace: str, migration: Migration) -> None:
    try:
        # Bytes: the SQL is sent as it is, without placeholder parsing.
        await conn.execute(migration.sql.encode())
    except psycopg.OperationalError:
        raise
    except psycopg.Error as exc:
        # Only the primary message: details and context can quote row values.
        reason = exc.diag.message_primary or type(exc).__name__
        raise MigrationFailed(
            f"migration {namespace} {migration.version} ({migration.description}) failed:"
            f" {reason} (SQLSTATE {exc.sqlstate})"
        ) from exc
