"""Least privilege in the database: each app connects as its own role and reads only its tables.

The database is set up as an operator would for `secrets.frontendDatabaseUrl`: a role per app,
each allowed to create tables in `public`; each app's migrations then create (and own) its
tables, and `schema_migrations` is shared.
"""

from __future__ import annotations

import httpx
import psycopg
import pytest
from support.postgres import AppRoles, PostgresServer
from support.secret import Secret

pytestmark = pytest.mark.app

BACKEND_TABLES = ("tasks", "conversations", "messages")
FRONTEND_READS = ("SELECT password_hash FROM auth_users", "SELECT token_digest FROM auth_sessions")


@pytest.fixture(scope="module")
def roles(postgres: PostgresServer) -> AppRoles:
    return postgres.create_app_roles()


@pytest.fixture(scope="module")
def database_url(roles: AppRoles) -> Secret:
    """The backend's URL (the stack's fixtures give it to the backend)."""
    return roles.backend


@pytest.fixture(scope="module")
def frontend_env(frontend_env: dict[str, str], roles: AppRoles) -> dict[str, str]:
    """The frontend of the module connects as the frontend's role."""
    return {**frontend_env, "DATABASE_URL": roles.frontend}


def forbidden(url: str, query: str) -> bool:
    """Whether `query` is refused to the role of `url` for lack of privilege."""
    with psycopg.connect(url, autocommit=True) as conn:
        try:
            conn.execute(query.encode())
        except psycopg.errors.InsufficientPrivilege:
            return True
    return False


def test_both_apps_work_with_their_own_roles(user_client: httpx.Client) -> None:
    created = user_client.post("/app/api/tasks", json={"title": "private"})
    assert created.status_code == 201, created.text
    listed = user_client.get("/app/api/tasks")
    assert [task["title"] for task in listed.json()["data"]] == ["private"]


def test_the_frontend_role_cannot_read_the_tasks_or_chats(
    user_client: httpx.Client, roles: AppRoles
) -> None:
    assert user_client.post("/app/api/tasks", json={"title": "x"}).status_code == 201
    for table in BACKEND_TABLES:
        assert forbidden(roles.frontend, f"SELECT * FROM {table}"), table
    assert not forbidden(roles.backend, "SELECT * FROM tasks")


def test_the_backend_role_cannot_read_users_or_sessions(
    user_client: httpx.Client, roles: AppRoles
) -> None:
    for query in FRONTEND_READS:
        assert forbidden(roles.backend, query), query
        assert not forbidden(roles.frontend, query), query


def test_both_apps_record_their_migrations_in_the_shared_table(
    user_client: httpx.Client, roles: AppRoles
) -> None:
    with psycopg.connect(roles.backend, autocommit=True) as conn:
        namespaces = conn.execute("SELECT DISTINCT namespace FROM schema_migrations").fetchall()
    assert sorted(row[0] for row in namespaces) == ["backend", "frontend"]
