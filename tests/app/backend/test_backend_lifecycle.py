"""Start-up and shutdown of real backend processes: SIGTERM drain, replicas, migrations."""

from __future__ import annotations

import concurrent.futures
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from support.app_process import AppProcess
from support.logs import assert_json_log_without_secrets, secret_values_of_database_url
from support.postgres import PostgresServer
from support.secret import bearer
from support.standin import StandIn

pytestmark = pytest.mark.app


def test_sigterm_drains_in_flight_request_closing_connections_then_exits_0(
    start_backend: Any, fresh_standin: StandIn, make_token: Any
) -> None:
    backend = start_backend(AI_TIMEOUT_SECONDS="10", SHUTDOWN_DRAIN_SECONDS="0.5")
    headers = bearer(make_token("patient-user"))
    slow_message = partial(
        httpx.post,
        f"{backend.url}/api/chat",
        json={"message": "add a task to finish slowly [[slow]]"},
        headers=headers,
        timeout=30,
    )
    with fresh_standin.holding(slow_message) as in_flight:
        assert "connection" not in httpx.get(f"{backend.url}/healthz", timeout=5).headers
        sent_at = time.monotonic()
        backend.terminate()

        readyz = httpx.get(f"{backend.url}/readyz", timeout=5)
        assert readyz.status_code == 503
        assert readyz.json() == {"detail": "not ready: shutting down"}
        healthz = httpx.get(f"{backend.url}/healthz", timeout=5)
        assert healthz.status_code == 200
        # Keep-alive clients are told to leave while the server still answers.
        assert healthz.headers["connection"] == "close"

        response = in_flight.result(timeout=30)
    assert response.status_code == 200
    assert response.json()["reply"] == (
        f"Added task {response.json()['actions'][0]['result']['id']}: finish slowly."
    )
    assert backend.wait_exit(timeout_seconds=15) == 0
    assert time.monotonic() - sent_at >= StandIn.SLOW_SECONDS - 0.5
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{backend.url}/healthz", timeout=2)
    assert '"message": "shutdown requested, draining"' in backend.output()


def applied_rows_count(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    assert row is not None
    return int(row[0])


def test_replicas_starting_together_migrate_once_and_later_starts_do_nothing(
    postgres: PostgresServer, start_backend: Any
) -> None:
    fresh_url = postgres.create_database()
    replicas = [start_backend(wait_ready=False, DATABASE_URL=fresh_url) for _ in range(4)]
    for replica in replicas:
        replica.wait_ready(timeout_seconds=30)

    with psycopg.connect(fresh_url) as conn:
        rows = conn.execute(
            "SELECT namespace, version, count(*) FROM schema_migrations GROUP BY 1, 2 ORDER BY 2"
        ).fetchall()
    assert rows == [("backend", version, 1) for version in (1, 2, 3)]
    applied = [replica.output().count('"message": "migration applied"') for replica in replicas]
    assert sorted(applied) == [0, 0, 0, 3]
    for replica in replicas:
        assert '"level": "error"' not in replica.output()

    # A later start (a restart, a scale-up) finds nothing to do.
    late = start_backend(DATABASE_URL=fresh_url)
    assert '"applied_versions": []' in late.output()
    assert applied_rows_count(fresh_url) == 3


def test_a_migration_the_database_refuses_stops_the_process_with_one_clear_line(
    postgres: PostgresServer,
    backend_env: dict[str, str],
    auth_secret: str,
    ai_key: str,
    tmp_path: Path,
) -> None:
    # A table left by something else: the backend's first migration cannot create it.
    url = postgres.create_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE tasks (id int)")
    backend = AppProcess("todo_backend", env={**backend_env, "DATABASE_URL": url}, log_dir=tmp_path)
    backend.start(wait_ready=False)
    try:
        assert backend.wait_exit(timeout_seconds=30) == 3
    finally:
        backend.stop()
    output = backend.output()
    entries = assert_json_log_without_secrets(
        output, [*secret_values_of_database_url(url), auth_secret, ai_key]
    )
    [failure] = [entry for entry in entries if entry["level"] in ("error", "critical")]
    assert failure["message"] == "database migration failed; the process stops"
    assert failure["error"] == (
        'MigrationFailed: migration backend 1 (tasks) failed: relation "tasks" already exists'
        " (SQLSTATE 42P07)"
    )
    assert "retrying" not in output


def test_concurrent_writes_through_two_instances_lose_nothing(
    backend: AppProcess, start_backend: Any, make_token: Any, db: psycopg.Connection[Any]
) -> None:
    other = start_backend()
    headers = bearer(make_token("busy-user"))
    titles = [f"task {n}" for n in range(40)]

    def create(index: int) -> int:
        url = (backend if index % 2 else other).url
        response = httpx.post(
            f"{url}/api/tasks", json={"title": titles[index]}, headers=headers, timeout=15
        )
        return response.status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(create, range(len(titles))))
    assert statuses == [201] * len(titles)

    listed = httpx.get(f"{backend.url}/api/tasks", headers=headers, timeout=5).json()
    assert listed["count"] == len(titles)
    assert sorted(t["title"] for t in listed["data"]) == sorted(titles)
    rows = db.execute(
        "SELECT count(*), count(DISTINCT id) FROM tasks WHERE user_id = 'busy-user'"
    ).fetchone()
    assert rows == (len(titles), len(titles))
