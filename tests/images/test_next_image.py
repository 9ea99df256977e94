"""The Next.js frontend image (app/frontend-next, `make next-image`) runs as its contract says.

Built on demand like the fixture images (cached when unchanged). Each container runs under
runc as a kubelet would: uid 10001, a read-only root, emptyDirs at /tmp and Next.js's cache,
against a real PostgreSQL; the real backend checks the Better Auth tokens it issues through
the image's key set (JWKS mode).
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from image_helpers import (
    CONTRACT_REFUSALS,
    BuiltImage,
    RunContainer,
    free_port,
    read_image,
    wait_for_http,
)
from imagebuild.catalogue import NEXT
from imagebuild.common import manifest_path
from support.app_process import AppProcess
from support.fixture_images import build_next_image
from support.postgres import PostgresServer
from support.secret import Secret, bearer
from todo_common.config import CONFIG_ERROR_EXIT_CODE

pytestmark = pytest.mark.images

WRITABLE = ("/tmp", "/app/.next/cache")
MAX_IMAGE_BYTES = 200_000_000
STARTUP_SECONDS = 30


@pytest.fixture(scope="module")
def image() -> BuiltImage:
    """Build (or find) the image as `make next-image` does, then read it."""
    build_next_image()
    return read_image(NEXT, json.loads(manifest_path().read_text())[NEXT])


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    with PostgresServer.started() as server:
        yield server


def frontend_env(
    database_url: str, port: int, backend_url: str = "http://127.0.0.1:9"
) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "BETTER_AUTH_SECRET": Secret(secrets.token_urlsafe(40)),
        "BACKEND_URL": backend_url,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PORT": str(port),
        "SHUTDOWN_DRAIN_SECONDS": "0.2",
    }


def jwks_backend(
    database_url: str, port: int, log_dir: Path, extra: dict[str, str] | None = None
) -> AppProcess:
    """The real backend (not started), checking tokens against the frontend's key set."""
    return AppProcess(
        "todo_backend",
        env={
            "DATABASE_URL": database_url,
            "BETTER_AUTH_SECRET": Secret(secrets.token_urlsafe(40)),
            "AI_PROVIDER": "openai",
            "AI_MODEL": "gpt-test",
            "OPENAI_API_KEY": Secret(secrets.token_urlsafe(24)),
            "AI_BASE_URL": "http://127.0.0.1:9/v1",
            "AUTH_JWKS_URL": f"http://127.0.0.1:{port}/api/auth/jwks",
            "AUTH_JWT_ISSUER": f"http://127.0.0.1:{port}",
            "AUTH_JWT_AUDIENCE": f"http://127.0.0.1:{port}",
            **(extra or {}),
        },
        log_dir=log_dir,
    )


def migrate(image: BuiltImage, run_container: RunContainer, database_url: str) -> None:
    """Better Auth's migration, as the chart's Job runs it (DATABASE_URL only)."""
    migrated = run_container(
        image, {"DATABASE_URL": database_url}, ["node", "migrate.mjs"]
    ).run_to_end()
    assert migrated.returncode == 0, migrated.stderr


@contextlib.contextmanager
def beside_a_backend(
    image: BuiltImage,
    run_container: RunContainer,
    postgres: PostgresServer,
    log_dir: Path,
    backend_extra: dict[str, str] | None = None,
) -> Iterator[dict[str, str]]:
    """The frontend's environment: a new database the image migrated, the real backend on it.

    The backend (JWKS mode) runs until the block ends.
    """
    database_url = str(postgres.create_database())
    port = free_port()
    backend = jwks_backend(database_url, port, log_dir, backend_extra)
    migrate(image, run_container, database_url)
    backend.start()
    try:
        yield frontend_env(database_url, port, backend.url)
    finally:
        backend.stop()


@contextlib.contextmanager
def serving(
    image: BuiltImage,
    run_container: RunContainer,
    env: dict[str, str],
    *,
    never_logged: tuple[str, ...] = (),
) -> Iterator[None]:
    """The frontend running until Ready; stopped by SIGTERM (it must exit 0) afterwards.

    Its output must hold neither BETTER_AUTH_SECRET nor any of `never_logged`.
    """
    frontend = run_container(image, env, None, WRITABLE)
    frontend.start()
    wait_for_http(
        f"{env['PUBLIC_URL']}/readyz", timeout=STARTUP_SECONDS, container=frontend, until=200
    )
    yield
    frontend.signal("TERM")
    assert frontend.wait(timeout=15) == 0
    for secret in (env["BETTER_AUTH_SECRET"], *never_logged):
        assert secret not in frontend.output()


def browser_of(env: dict[str, str]) -> httpx.Client:
    """A client of the frontend at PUBLIC_URL that sends its Origin, as its pages do."""
    return httpx.Client(
        base_url=env["PUBLIC_URL"], timeout=20, headers={"origin": env["PUBLIC_URL"]}
    )


def sign_up_and_in(browser: httpx.Client, account: dict[str, Any]) -> None:
    """Sign up and sign in through Better Auth's API (sign-up starts no session)."""
    signed_up = browser.post("/api/auth/sign-up/email", json={"name": "Ada", **account})
    assert signed_up.status_code == 200, signed_up.text
    signed_in = browser.post("/api/auth/sign-in/email", json=account)
    assert signed_in.status_code == 200, signed_in.text


def test_runs_as_10001_on_port_3000_under_200_mb(image: BuiltImage) -> None:
    assert image.runtime["User"] == "10001:10001"
    assert set(image.runtime["ExposedPorts"]) == {"3000/tcp"}
    assert image.runtime["Cmd"] == ["node", "server.js"]
    assert "NEXT_TELEMETRY_DISABLED=1" in image.runtime["Env"]
    assert image.archive.stat().st_size < MAX_IMAGE_BYTES


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        *CONTRACT_REFUSALS,
        (
            "PUBLIC_URL",
            "todo-{secret}",
            "PUBLIC_URL is malformed: must be an http:// or https:// URL",
        ),
    ],
)
def test_a_bad_variable_stops_it_with_one_line(
    image: BuiltImage, run_container: RunContainer, variable: str, value: str | None, message: str
) -> None:
    env = frontend_env(
        f"postgresql://app:{secrets.token_urlsafe(16)}@db.internal/todo", free_port()
    )
    if value is None:
        del env[variable]
    else:
        env[variable] = value.replace("{secret}", secrets.token_urlsafe(8))
    exited = run_container(image, env, None, WRITABLE).run_to_end()
    assert exited.returncode == CONFIG_ERROR_EXIT_CODE
    output = exited.stdout + exited.stderr
    for name in ("DATABASE_URL", "BETTER_AUTH_SECRET"):
        if env.get(name):
            assert env[name] not in output
    assert f"config error: {message}" in output.splitlines()


def test_signs_up_and_the_backend_accepts_its_token(
    image: BuiltImage,
    run_container: RunContainer,
    postgres: PostgresServer,
    tmp_path: Path,
) -> None:
    password = Secret(secrets.token_urlsafe(16))
    with beside_a_backend(image, run_container, postgres, tmp_path) as env:
        with psycopg.connect(env["DATABASE_URL"]) as conn:
            tables = {
                row[0]
                for row in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            }
        assert {"user", "session", "account", "verification", "jwks"} <= tables

        with (
            serving(image, run_container, env, never_logged=(password,)),
            browser_of(env) as browser,
        ):
            sign_up_and_in(browser, {"email": "ada@example.com", "password": password})
            token = Secret(browser.get("/api/auth/token").json()["token"])
            assert jwt.get_unverified_header(token)["alg"] == "EdDSA"
            with httpx.Client(base_url=env["BACKEND_URL"], timeout=10) as api:
                created = api.post("/api/tasks", json={"title": "from next"}, headers=bearer(token))
            assert created.status_code == 201, created.text
            # The page lists the task: the image called the backend itself, with a new token.
            page = browser.get("/")
            assert page.status_code == 200
            assert "from next" in page.text


def test_a_new_better_auth_secret_ends_old_sessions_and_signs_with_a_new_key(
    image: BuiltImage,
    run_container: RunContainer,
    postgres: PostgresServer,
    tmp_path: Path,
) -> None:
    """Better Auth seals its signing key with the secret: a new one must not stop the tokens."""
    account = {"email": "ada@example.com", "password": Secret(secrets.token_urlsafe(16))}
    # The chart rolls the backend too when the Secret changes, and a new pod fetches the key
    # set afresh; this one process fetches it again at once for an unknown key id instead.
    no_cooldown = {"AUTH_JWKS_COOLDOWN_SECONDS": "0"}
    with beside_a_backend(image, run_container, postgres, tmp_path, no_cooldown) as env:
        with serving(image, run_container, env), browser_of(env) as browser:
            sign_up_and_in(browser, account)
            assert browser.post("/app/api/tasks", json={"title": "kept"}).status_code == 201
            old_key = jwt.get_unverified_header(browser.get("/api/auth/token").json()["token"])
            old_session = dict(browser.cookies)

        rotated = {**env, "BETTER_AUTH_SECRET": Secret(secrets.token_urlsafe(40))}
        with serving(image, run_container, rotated), browser_of(env) as browser:
            # The old session's cookie is signed with the old secret: it ends, cleanly.
            browser.cookies.update(old_session)
            page = browser.get("/")
            assert (page.status_code, page.headers["location"]) == (307, "/signin")
            assert browser.get("/app/api/tasks").status_code == 401
            browser.cookies.clear()
            assert browser.post("/api/auth/sign-in/email", json=account).status_code == 200
            # The backend accepts the token of a key sealed with the new secret.
            listed = browser.get("/app/api/tasks")
            assert listed.status_code == 200, listed.text
            assert [t["title"] for t in listed.json()["data"]] == ["kept"]
            new_key = jwt.get_unverified_header(browser.get("/api/auth/token").json()["token"])
            assert new_key["kid"] != old_key["kid"]


def test_draining_it_turns_readyz_503_and_closes_each_connection_after_its_answer(
    image: BuiltImage, run_container: RunContainer, postgres: PostgresServer
) -> None:
    port = free_port()
    env = {**frontend_env(str(postgres.create_database()), port), "SHUTDOWN_DRAIN_SECONDS": "5"}
    frontend = run_container(image, env, None, WRITABLE)
    frontend.start()
    wait_for_http(
        f"{env['PUBLIC_URL']}/readyz", timeout=STARTUP_SECONDS, container=frontend, until=200
    )
    with httpx.Client(base_url=env["PUBLIC_URL"], timeout=5) as client:
        assert "close" not in client.get("/healthz").headers.get("connection", "")
        frontend.signal("TERM")
        # The route sees the flag the SIGTERM handler set (they are bundled apart).
        wait_for_http(f"{env['PUBLIC_URL']}/readyz", timeout=5, container=frontend, until=503)
        # Still served while draining, but the client is told to reconnect (elsewhere).
        answer = client.get("/healthz")
        assert answer.status_code == 200
        assert answer.headers["connection"] == "close"
    assert frontend.wait(timeout=15) == 0


def test_has_the_sleep_of_the_charts_pre_stop_hook(
    image: BuiltImage, run_container: RunContainer
) -> None:
    # The chart's preStop runs `sleep 5`; without it the pause fails and SIGTERM comes at once.
    assert run_container(image, {}, ["sleep", "0"]).run_to_end().returncode == 0
