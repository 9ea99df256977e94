"""The foreign-contract fixture image (app/foreign) runs as its own contract says.

Port 8080, uid 1001, JWT_SECRET / LLM_PROVIDER / API_URL instead of the chart's names, a
writable /app/.next/cache it must have, and a migration command of its own: what the chart's
bring-your-own-image values must cope with (examples/values-foreign-contract.yaml). Each
container runs under runc as a kubelet would, on a read-only root, against a real PostgreSQL.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
from image_helpers import BuiltImage, RunContainer, free_port, wait_for_http
from support.postgres import PostgresServer

pytestmark = pytest.mark.images

STARTUP_SECONDS = 30
CACHE = "/app/.next/cache"
WRITABLE = ("/tmp", CACHE)
CONFIG_ERROR, MIGRATION_ERROR, UNWRITABLE = 2, 3, 4
SECRET_VARIABLES = ("DATABASE_URL", "JWT_SECRET", "OPENAI_API_KEY", "GEMINI_API_KEY")


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway TLS-only PostgreSQL on 127.0.0.1 for the module."""
    with PostgresServer.started() as server:
        yield server


@pytest.fixture
def foreign(fixture_images: dict[str, BuiltImage]) -> BuiltImage:
    return fixture_images["foreign"]


def serve_env(role: str, database_url: str, port: int = 8080) -> dict[str, str]:
    """A complete environment for `serve <role>` under the image's own names (fresh secrets)."""
    env = {
        "DATABASE_URL": database_url,
        "JWT_SECRET": secrets.token_urlsafe(32),
        "PORT": str(port),
        "HOSTNAME": f"images-test-{role}",
    }
    if role == "backend":
        env |= {"LLM_PROVIDER": "openai", "OPENAI_API_KEY": secrets.token_urlsafe(24)}
    else:
        env["API_URL"] = "http://127.0.0.1:9"
    return env


def never_shown(env: dict[str, str]) -> list[str]:
    """Every secret value of `env`, the database password alone included."""
    values = [env[name] for name in SECRET_VARIABLES if env.get(name)]
    password = urlsplit(env.get("DATABASE_URL", "")).password
    return [*values, *([password, unquote(password)] if password else [])]


def one_line(output: str, secret_values: list[str]) -> str:
    """The only line of `output`, once it is known to show none of the secret values."""
    for index, secret in enumerate(secret_values):
        assert secret not in output, f"secret value #{index} appears in the output"
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}"
    return lines[0]


def migration_runs(database_url: str) -> list[tuple[int, int]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT from_version, to_version FROM foreign_migration_runs ORDER BY id"
        ).fetchall()
    return [(int(before), int(after)) for before, after in rows]


def test_runs_as_1001_on_port_8080_serving_the_backend_role_by_default(
    foreign: BuiltImage,
) -> None:
    assert foreign.runtime["User"] == "1001:1001"
    assert set(foreign.runtime["ExposedPorts"]) == {"8080/tcp"}
    assert foreign.runtime["Entrypoint"] == ["python", "-m", "foreign"]
    assert foreign.runtime["Cmd"] == ["serve", "backend"]


# (role, variable, value or None to leave it out, the start of the one line)
BROKEN = [
    ("backend", "DATABASE_URL", None, "DATABASE_URL is missing"),
    ("backend", "JWT_SECRET", None, "JWT_SECRET is missing"),
    ("backend", "LLM_PROVIDER", None, "LLM_PROVIDER is missing"),
    ("backend", "OPENAI_API_KEY", None, "OPENAI_API_KEY is missing"),
    ("frontend", "API_URL", None, "API_URL is missing"),
    ("frontend", "JWT_SECRET", "{secret}", "JWT_SECRET is malformed: must be at least 32"),
    ("backend", "LLM_PROVIDER", "claude-{secret}", "LLM_PROVIDER is malformed: must be one of"),
    ("backend", "DATABASE_URL", "mysql://u:{secret}@db/todo", "DATABASE_URL is malformed"),
    ("frontend", "API_URL", "backend-{secret}:8000", "API_URL is malformed"),
]


@pytest.mark.parametrize(("role", "variable", "value", "message"), BROKEN)
def test_fails_fast_with_one_line_naming_the_variable_and_no_secret(
    foreign: BuiltImage,
    run_container: RunContainer,
    role: str,
    variable: str,
    value: str | None,
    message: str,
) -> None:
    env = serve_env(role, f"postgresql://app:{secrets.token_urlsafe(16)}@db.internal/todo")
    if value is None:
        del env[variable]
    else:
        env[variable] = value.replace("{secret}", secrets.token_urlsafe(16))
    hidden = [*never_shown(env), *([env[variable]] if value else [])]

    exited = run_container(foreign, env, ["serve", role], WRITABLE).run_to_end()

    assert exited.returncode == CONFIG_ERROR
    assert one_line(exited.stdout + exited.stderr, hidden).startswith(f"config error: {message}")


def test_migrate_needs_only_a_database_url(
    foreign: BuiltImage, run_container: RunContainer
) -> None:
    exited = run_container(foreign, {}, ["migrate"]).run_to_end()
    assert exited.returncode == CONFIG_ERROR
    assert one_line(exited.stderr, []) == "config error: DATABASE_URL is missing"


def test_migrate_advances_the_schema_once_and_records_every_run(
    foreign: BuiltImage, run_container: RunContainer, postgres: PostgresServer
) -> None:
    database_url = str(postgres.create_database())
    for _ in range(2):
        exited = run_container(foreign, {"DATABASE_URL": database_url}, ["migrate"]).run_to_end()
        output = exited.stdout + exited.stderr
        assert exited.returncode == 0, one_line(output, never_shown({"DATABASE_URL": database_url}))
    assert migration_runs(database_url) == [(0, 2), (2, 2)]


def test_a_migration_the_database_refuses_exits_3_naming_the_step(
    foreign: BuiltImage, run_container: RunContainer, postgres: PostgresServer
) -> None:
    database_url = str(postgres.create_database())
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE items (taken text)")
    exited = run_container(foreign, {"DATABASE_URL": database_url}, ["migrate"]).run_to_end()
    assert exited.returncode == MIGRATION_ERROR
    line = one_line(exited.stdout + exited.stderr, never_shown({"DATABASE_URL": database_url}))
    assert line == "migration error: migration 1 failed (42P07)"


def test_refuses_to_serve_a_database_it_was_not_migrated_for(
    foreign: BuiltImage, run_container: RunContainer, postgres: PostgresServer
) -> None:
    env = serve_env("backend", str(postgres.create_database()), free_port())
    exited = run_container(foreign, env, None, WRITABLE).run_to_end()
    assert exited.returncode == MIGRATION_ERROR
    line = one_line(exited.stdout + exited.stderr, never_shown(env))
    assert line.startswith("migration error: the schema is at version 0, this image needs 2")


def test_fails_clearly_without_a_writable_cache_folder(
    foreign: BuiltImage, run_container: RunContainer, postgres: PostgresServer
) -> None:
    env = serve_env("backend", str(postgres.create_database()), free_port())
    exited = run_container(foreign, env).run_to_end()
    assert exited.returncode == UNWRITABLE
    line = one_line(exited.stdout + exited.stderr, never_shown(env))
    assert line == (
        f"path error: {CACHE} is not writable (Read-only file system): "
        "mount a writable volume there"
    )


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as answer:
        return json.load(answer)


def test_both_roles_serve_as_1001_on_a_read_only_root_and_stop_on_sigterm(
    foreign: BuiltImage, run_container: RunContainer, postgres: PostgresServer
) -> None:
    database_url = str(postgres.create_database())
    migrated = run_container(foreign, {"DATABASE_URL": database_url}, ["migrate"]).run_to_end()
    assert migrated.returncode == 0
    backend_port, frontend_port = free_port(), free_port()
    backend_env = serve_env("backend", database_url, backend_port)
    frontend_env = serve_env("frontend", database_url, frontend_port)
    frontend_env["API_URL"] = f"http://127.0.0.1:{backend_port}"
    backend = run_container(foreign, backend_env, None, WRITABLE)
    frontend = run_container(foreign, frontend_env, ["serve", "frontend"], WRITABLE)
    containers = {"backend": (backend, backend_port), "frontend": (frontend, frontend_port)}
    for container, port in containers.values():
        container.start()
        ready = f"http://127.0.0.1:{port}/api/ready"
        assert wait_for_http(ready, timeout=STARTUP_SECONDS, container=container, until=200)

    front = f"http://127.0.0.1:{frontend_port}"
    request = urllib.request.Request(
        f"{front}/api/items", data=b'{"title": "through both"}', method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as created:
        assert created.status == 201
        assert created.headers["X-Instance"] == "images-test-frontend"
    assert get_json(f"{front}/api/items") == {
        "data": [{"id": 1, "title": "through both"}],
        "count": 1,
    }

    for role, (container, port) in containers.items():
        received = get_json(f"http://127.0.0.1:{port}/api/env")
        assert isinstance(received, dict) and received["role"] == role
        env = backend_env if role == "backend" else frontend_env
        assert set(env) <= set(received["variables"])
        shown = json.dumps(received)
        assert not [secret for secret in never_shown(env) if secret in shown]
        assert ("OPENAI_API_KEY" in received["variables"]) == (role == "backend")

        status = (container.proc_dir() / "status").read_text().splitlines()
        for prefix in ("Uid:", "Gid:"):
            assert (
                next(line for line in status if line.startswith(prefix)).split()[1:] == ["1001"] * 4
            )
        listed = container.exec("python", "-c", f"import os; print(os.listdir('{CACHE}'))")
        assert listed.stdout.strip() == f"['images-test-{role}.started']"
        denied = container.exec("python", "-c", "open('/app/probe', 'w')")
        assert "Read-only file system" in denied.stderr

    for container, _ in containers.values():
        container.signal("TERM")
    assert [container.wait(timeout=30) for container, _ in containers.values()] == [0, 0]
