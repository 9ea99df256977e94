"""The app images run as the contract says: uid 10001, read-only root, fail-fast start-up.

Each container is started by runc the way a kubelet would (see image_helpers.Container),
against a real PostgreSQL for the healthy start. Secrets are generated for each run and the
assertions never print the container's environment.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from image_helpers import CONTRACT_REFUSALS, BuiltImage, RunContainer, free_port, wait_for_http
from support.logs import secret_values
from support.postgres import PostgresServer
from todo_common.config import CONFIG_ERROR_EXIT_CODE

pytestmark = pytest.mark.images

STARTUP_SECONDS = 60


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway TLS-only PostgreSQL on 127.0.0.1 for the module."""
    with PostgresServer.started() as server:
        yield server


def healthy_env(app: str, database_url: str, port: int) -> dict[str, str]:
    """Return a complete, valid environment for the app (fresh secrets)."""
    env = {
        "DATABASE_URL": database_url,
        "BETTER_AUTH_SECRET": secrets.token_urlsafe(32),
        "LOG_LEVEL": "info",
        "INSTANCE_NAME": f"images-test-{app}",
        "PORT": str(port),
        # Apart from the default, which a host may use already.
        "METRICS_PORT": str(free_port()),
    }
    if app == "backend":
        env |= {
            "AI_PROVIDER": "openai",
            "AI_MODEL": "stand-in-model",
            # Never called by these tests: nothing listens on the discard port.
            "AI_BASE_URL": "http://127.0.0.1:9/v1",
            "OPENAI_API_KEY": secrets.token_urlsafe(24),
        }
    else:
        env |= {"BACKEND_URL": "http://127.0.0.1:9", "PUBLIC_URL": f"http://127.0.0.1:{port}"}
    return env


def without(env: dict[str, str], name: str) -> dict[str, str]:
    """Return the environment less one variable."""
    return {key: value for key, value in env.items() if key != name}


# The Python images' refusals besides the contract's (see CONTRACT_REFUSALS).
BROKEN_VARIABLES = [
    *CONTRACT_REFUSALS,
    (
        "DATABASE_URL",
        "mysql://app:{secret}@db.internal:3306/todo",
        "DATABASE_URL is malformed: must start with postgresql://",
    ),
    (
        "DATABASE_URL",
        "postgresql://app:{secret}@db.internal:5432/?sslmode=require",
        "DATABASE_URL is malformed: must name a database",
    ),
    (
        "DATABASE_URL",
        "postgresql://app:{secret}@db.internal:99999/todo",
        "DATABASE_URL is malformed: must be a postgresql://user:password@host:port/db URL",
    ),
    ("LOG_LEVEL", "verbose-{secret}", "LOG_LEVEL is malformed"),
    ("PORT", "eighty-{secret}", "PORT is malformed"),
]


@pytest.mark.parametrize(("variable", "value", "message"), BROKEN_VARIABLES)
def test_fails_fast_with_one_line_naming_the_variable_and_no_secret(
    app_image: BuiltImage,
    run_container: RunContainer,
    variable: str,
    value: str | None,
    message: str,
) -> None:
    env = healthy_env(
        app_image.name, f"postgresql://app:{secrets.token_urlsafe(16)}@db.internal/todo", 1
    )
    if value is None:
        env = without(env, variable)
    else:
        env[variable] = value.replace("{secret}", secrets.token_urlsafe(16))
    never_shown = [*secret_values(env), *([env[variable]] if value else [])]

    exited = run_container(app_image, env).run_to_end()

    assert exited.returncode == CONFIG_ERROR_EXIT_CODE
    output = exited.stdout + exited.stderr
    for index, secret in enumerate(never_shown):
        assert secret not in output, f"value #{index} of the environment appears in the output"
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got {len(lines)}"
    assert lines[0].startswith(f"config error: {message}"), lines[0]


def test_serves_as_uid_10001_on_a_read_only_root_and_stops_on_sigterm(
    app_image: BuiltImage, run_container: RunContainer, postgres: PostgresServer
) -> None:
    port = free_port()
    container = run_container(
        app_image, healthy_env(app_image.name, postgres.create_database(), port)
    )
    container.start()
    assert (
        wait_for_http(
            f"http://127.0.0.1:{port}/healthz", timeout=STARTUP_SECONDS, container=container
        )
        == 200
    )
    assert (
        wait_for_http(
            f"http://127.0.0.1:{port}/readyz",
            timeout=STARTUP_SECONDS,
            container=container,
            until=200,
        )
        == 200
    )

    if app_image.name == "frontend":
        # A rendered page: the templates and static files made it into the image.
        page = wait_for_http(
            f"http://127.0.0.1:{port}/signin", timeout=10, container=container, until=200
        )
        assert page == 200

    status = (container.proc_dir() / "status").read_text()
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    gid_line = next(line for line in status.splitlines() if line.startswith("Gid:"))
    assert uid_line.split()[1:] == ["10001"] * 4
    assert gid_line.split()[1:] == ["10001"] * 4

    probe = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('x')"
    assert container.exec("python", "-c", probe, "/tmp/probe").returncode == 0
    for path in ("/app/probe", "/opt/venv/probe", "/probe"):
        denied = container.exec("python", "-c", probe, path)
        assert denied.returncode != 0
        assert "Read-only file system" in denied.stderr

    container.signal("TERM")
    assert container.wait(timeout=30) == 0
