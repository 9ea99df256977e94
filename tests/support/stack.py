"""The whole app as real processes (backend + frontend), as pytest fixtures, and a user.

The fixtures build on `database_url`, `auth_secret`, `ai_key` and `standin`
(support.fixtures). Each test module gets one backend and one frontend on its own
database; each test signs up its own user, so tests do not see each other's data. Tests
that break or reconfigure something (a backend outage, other variables) start their own
processes with `start_frontend` / `start_backend`.

At the end of the module every backend and frontend is stopped with SIGTERM: it must exit 0
and have printed only JSON lines, without the database password, BETTER_AUTH_SECRET, the AI
key, any JWT, any password a test used or any session cookie the frontend set.

A conftest.py uses them by importing them:

    from support.stack import backend, frontend, ...  # noqa: F401 (pytest fixtures)
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable, Iterator, Sequence

import httpx
import pytest

from support.app_process import AppProcess
from support.logs import assert_json_log_without_secrets, secret_values
from support.postgres import free_port
from support.standin import StandIn

AppFactory = Callable[..., AppProcess]
UserOnBackend = Callable[..., contextlib.AbstractContextManager[httpx.Client]]


class Credentials:
    """Every password and session cookie the tests used: none may ever be logged."""

    def __init__(self) -> None:
        """Start with none."""
        self.values: list[str] = []

    def remember(self, *values: str) -> None:
        """Add values that must never appear in a log."""
        self.values.extend(values)


CREDENTIALS = Credentials()


def new_email() -> str:
    """Return an email address no other test uses."""
    return f"user-{secrets.token_hex(6)}@example.com"


def new_password() -> str:
    """Return a random password (remembered, so log checks can look for it)."""
    password = secrets.token_urlsafe(12)
    CREDENTIALS.remember(password)
    return password


def make_client(app: AppProcess, *, origin: str | None = None) -> httpx.Client:
    """Return a client of `app` that sends the `Origin` a page of the app would send."""
    return httpx.Client(
        base_url=app.url, headers={"Origin": origin or app.url}, timeout=30, trust_env=False
    )


def sign_up(client: httpx.Client) -> tuple[str, str]:
    """Sign up a new user and sign it in with `client` (which keeps the cookie).

    Returns the email and password.
    """
    email, password = new_email(), new_password()
    response = client.post("/signup", data={"email": email, "password": password})
    assert response.status_code == 303, response.text
    response = client.post("/signin", data={"email": email, "password": password})
    assert response.status_code == 303, response.text
    CREDENTIALS.remember(*client.cookies.values())
    return email, password


def backend_variables(
    database_url: str, auth_secret: str, ai_key: str, standin: StandIn
) -> dict[str, str]:
    """What every backend of the tests needs: the database, the secret, the stand-in as OpenAI."""
    return {
        "DATABASE_URL": database_url,
        "BETTER_AUTH_SECRET": auth_secret,
        "AI_PROVIDER": "openai",
        "AI_MODEL": "gpt-test",
        "OPENAI_API_KEY": ai_key,
        "AI_BASE_URL": f"{standin.url}/v1",
    }


def serve(
    name: str,
    tmp_path_factory: pytest.TempPathFactory,
    *,
    env: Callable[[int], dict[str, str]],
    never_logged: Sequence[str] = (),
) -> Iterator[AppFactory]:
    """Yield `start(wait_ready=True, **env_overrides)`, which starts one more `todo_<name>`.

    `env(port)` gives each process its variables. At the end every process gets one SIGTERM,
    as from Kubernetes (they drain in parallel): each must exit 0 and have logged JSON lines
    without a JWT, any secret of `env(port)` or of its own variables (`secret_values`), or any
    of `never_logged`, read then (the tests add to it).
    """
    log_dir = tmp_path_factory.mktemp(name)
    started: list[AppProcess] = []

    def start(*, wait_ready: bool = True, **overrides: str) -> AppProcess:
        port = free_port()
        process = AppProcess(
            f"todo_{name}",
            env={"INSTANCE_NAME": f"{name}-{len(started)}", **env(port), **overrides},
            log_dir=log_dir,
            port=port,
        )
        started.append(process)
        process.start(wait_ready=wait_ready)
        return process

    yield start
    for process in started:
        process.terminate()
    exit_codes = [process.wait_exit(timeout_seconds=30) for process in started]
    assert all(code == 0 for code in exit_codes), f"{name} exit codes: {exit_codes}"
    for process in started:
        output = process.output()
        secret = [*secret_values(env(process.port)), *secret_values(process.env), *never_logged]
        assert_json_log_without_secrets(output, secret)
        # The backend JWTs the frontend issues start with "eyJ" (`{"alg":"HS256",...`).
        assert "eyJ" not in output, f"a JWT appears in the {name} log"


@pytest.fixture(scope="module")
def start_backend(
    database_url: str,
    auth_secret: str,
    ai_key: str,
    standin: StandIn,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppFactory]:
    """Return `start_backend(**env_overrides)`: a ready backend using the AI stand-in."""
    yield from serve(
        "backend",
        tmp_path_factory,
        env=lambda port: {
            **backend_variables(database_url, auth_secret, ai_key, standin),
            "SHUTDOWN_DRAIN_SECONDS": "0",
        },
    )


@pytest.fixture(scope="module")
def backend(start_backend: AppFactory) -> AppProcess:
    """One ready backend for the module."""
    return start_backend()


@pytest.fixture(scope="module")
def frontend_env(database_url: str, auth_secret: str, backend: AppProcess) -> dict[str, str]:
    """The variables of a frontend that uses the module's backend (PUBLIC_URL aside)."""
    return {
        "DATABASE_URL": database_url,
        "BETTER_AUTH_SECRET": auth_secret,
        "BACKEND_URL": backend.url,
        "LOG_LEVEL": "debug",
        "SHUTDOWN_DRAIN_SECONDS": "0",
    }


@pytest.fixture(scope="module")
def start_frontend(
    frontend_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppFactory]:
    """Return `start_frontend(**env_overrides)`: a ready frontend (PUBLIC_URL: its address)."""
    yield from serve(
        "frontend",
        tmp_path_factory,
        env=lambda port: {"PUBLIC_URL": f"http://127.0.0.1:{port}", **frontend_env},
        never_logged=CREDENTIALS.values,
    )


@pytest.fixture(scope="module")
def frontend(start_frontend: AppFactory) -> AppProcess:
    """One ready frontend for the module, using the module's backend."""
    return start_frontend()


@pytest.fixture
def client(frontend: AppProcess) -> Iterator[httpx.Client]:
    """A fresh (signed-out) client of the module's frontend."""
    with make_client(frontend) as http:
        yield http


@pytest.fixture
def user_on_own_backend(start_backend: AppFactory, start_frontend: AppFactory) -> UserOnBackend:
    """Return `user_on_own_backend(**backend_env)`: a signed-in client of a new frontend whose
    new backend runs with `backend_env` (a limit or a timeout the user should hear of)."""

    @contextlib.contextmanager
    def signed_in(**backend_env: str) -> Iterator[httpx.Client]:
        backend = start_backend(**backend_env)
        frontend = start_frontend(BACKEND_URL=backend.url)
        with make_client(frontend) as http:
            sign_up(http)
            yield http

    return signed_in


@pytest.fixture
def user_client(client: httpx.Client) -> httpx.Client:
    """A client signed in as a new user."""
    sign_up(client)
    return client
