"""Versioned migrations under an advisory lock (todo_common.migrations), on real PostgreSQL.

The start-up loop around them (todo_common.startup) is tested here too.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from support.postgres import PostgresServer
from todo_common.migrations import (
    MIGRATION_LOCK_KEY,
    Migration,
    MigrationFailed,
    apply_migrations,
)

pytestmark = pytest.mark.app

MIGRATIONS = [
    Migration(version=1, description="notes", sql="CREATE TABLE notes (id int PRIMARY KEY)"),
    Migration(
        version=2,
        description="note text",
        # pg_sleep widens the window in which a second runner would apply it again.
        sql="ALTER TABLE notes ADD COLUMN body text; SELECT pg_sleep(0.2);",
    ),
]


def applied_rows(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT namespace, version, description FROM schema_migrations ORDER BY 1, 2"
        ).fetchall()


def test_concurrent_runners_apply_each_migration_once(postgres: PostgresServer) -> None:
    url = postgres.create_database()

    async def run_many() -> list[list[int]]:
        return await asyncio.gather(
            *(apply_migrations(url, namespace="notes", migrations=MIGRATIONS) for _ in range(5))
        )

    results = asyncio.run(run_many())
    assert sorted(results) == [[], [], [], [], [1, 2]]
    assert applied_rows(url) == [("notes", 1, "notes"), ("notes", 2, "note text")]


def test_a_second_run_applies_only_new_versions(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    assert asyncio.run(apply_migrations(url, namespace="notes", migrations=MIGRATIONS[:1])) == [1]
    assert asyncio.run(apply_migrations(url, namespace="notes", migrations=MIGRATIONS)) == [2]
    assert asyncio.run(apply_migrations(url, namespace="notes", migrations=MIGRATIONS)) == []


def test_namespaces_are_independent(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    other = [Migration(version=1, description="other", sql="CREATE TABLE other (id int)")]
    asyncio.run(apply_migrations(url, namespace="notes", migrations=MIGRATIONS))
    assert asyncio.run(apply_migrations(url, namespace="other", migrations=other)) == [1]
    assert ("other", 1, "other") in applied_rows(url)


BROKEN = Migration(
    version=2, description="broken", sql="CREATE TABLE half (id int); SELECT no_such_function();"
)


def test_a_failing_migration_is_rolled_back_and_named(postgres: PostgresServer) -> None:
    url = postgres.create_database()
    asyncio.run(apply_migrations(url, namespace="notes", migrations=MIGRATIONS[:1]))
    with pytest.raises(MigrationFailed) as raised:
        asyncio.run(apply_migrations(url, namespace="notes", migrations=[MIGRATIONS[0], BROKEN]))
    assert str(raised.value) == (
        "migration notes 2 (broken) failed: function no_such_function() does not exist"
        " (SQLSTATE 42883)"
    )
    assert applied_rows(url) == [("notes", 1, "notes")]
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('half')").fetchone() == (None,)


def test_a_run_is_all_or_nothing(postgres: PostgresServer) -> None:
    # Version 1 succeeded, version 2 failed: the run leaves the schema as it found it.
    url = postgres.create_database()
    with pytest.raises(MigrationFailed):
        asyncio.run(apply_migrations(url, namespace="notes", migrations=[MIGRATIONS[0], BROKEN]))
    with psycopg.connect(url) as conn:
        tables = conn.execute("SELECT to_regclass('notes'), to_regclass('schema_migrations')")
        assert tables.fetchone() == (None, None)


def test_runs_wait_for_the_holder_of_the_lock_and_leave_no_lock_behind(
    postgres: PostgresServer,
) -> None:
    url = postgres.create_database()
    with psycopg.connect(url) as holder:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK_KEY])

        async def run_while_held() -> list[int]:
            migrating = asyncio.create_task(
                apply_migrations(url, namespace="notes", migrations=MIGRATIONS)
            )
            await asyncio.sleep(0.5)
            assert not migrating.done()
            holder.commit()
            return await migrating

        assert asyncio.run(run_while_held()) == [1, 2]
        advisory = holder.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert advisory.fetchone() == (0,)


@pytest.mark.parametrize("versions", [[2, 1], [1, 1], [0, 1]])
def test_fails_when_versions_are_not_increasing(versions: list[int]) -> None:
    migrations = [Migration(version=v, description="x", sql="SELECT 1") for v in versions]
    with pytest.raises(ValueError, match="must be unique, increasing and >= 1"):
        asyncio.run(
            apply_migrations("postgresql://unused/db", namespace="n", migrations=migrations)
        )
