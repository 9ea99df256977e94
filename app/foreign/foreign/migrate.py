"""`python -m foreign migrate`: bring the schema to this image's version and record the run.

Every run adds one row to `foreign_migration_runs` (when, from which version, to which), even
when there was nothing to do: a test counts the rows to know how often a release migrated.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import psycopg

MIGRATION_EXIT_CODE = 3
MIGRATIONS = (
    "CREATE TABLE items (id bigserial PRIMARY KEY, title text NOT NULL)",
    "ALTER TABLE items ADD COLUMN created_at timestamptz NOT NULL DEFAULT now()",
)
SCHEMA_VERSION = len(MIGRATIONS)
# Two migrations started at once (two releases' hooks, a retried Job) run one after the other.
ADVISORY_LOCK = 0x666F7265
RUNS_TABLE = """CREATE TABLE IF NOT EXISTS foreign_migration_runs (
    id bigserial PRIMARY KEY,
    ran_at timestamptz NOT NULL DEFAULT now(),
    from_version integer NOT NULL,
    to_version integer NOT NULL
)"""


class MigrationError(Exception):
    """The database refused a step; the message names the step, never the URL."""


def schema_version(conn: psycopg.Connection[tuple[int]]) -> int:
    """Return the version the last migration left (0 on an empty schema)."""
    row = conn.execute("SELECT to_regclass('foreign_migration_runs') IS NOT NULL").fetchone()
    if row is None or not row[0]:
        return 0
    latest = conn.execute("SELECT coalesce(max(to_version), 0) FROM foreign_migration_runs")
    found = latest.fetchone()
    return int(found[0]) if found else 0


def migrate(database_url: str) -> tuple[int, int]:
    """Apply the pending migrations in one transaction; return (from version, to version)."""
    step = "connect"
    try:
        with psycopg.connect(database_url, connect_timeout=10) as conn:
            step = "lock"
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])
            step = "record runs"
            conn.execute(RUNS_TABLE)
            before = schema_version(conn)
            for number in range(before + 1, SCHEMA_VERSION + 1):
                step = f"migration {number}"
                conn.execute(MIGRATIONS[number - 1])
            step = "record runs"
            after = max(before, SCHEMA_VERSION)
            conn.execute(
                "INSERT INTO foreign_migration_runs (from_version, to_version) VALUES (%s, %s)",
                [before, after],
            )
    except psycopg.Error as error:
        reason = error.sqlstate or type(error).__name__
        raise MigrationError(f"{step} failed ({reason})") from None
    return before, after


def exit_on_migration_error(error: MigrationError) -> NoReturn:
    """End the process with one line naming the step."""
    print(f"migration error: {error}", file=sys.stderr, flush=True)
    sys.exit(MIGRATION_EXIT_CODE)
