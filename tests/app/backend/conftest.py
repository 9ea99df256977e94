"""Fixtures for the backend: real `python -m todo_backend` processes on the module's database.

Every backend process started here is stopped with SIGTERM at the end of the module; it
must then exit 0, and everything it printed must be JSON lines without any secret (the
database password, BETTER_AUTH_SECRET, the AI key and every token the tests issued).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from support.app_process import AppProcess
from support.stack import AppFactory, backend, backend_variables, serve  # noqa: F401 (a fixture)
from support.standin import StandIn


@pytest.fixture(scope="module")
def backend_env(
    database_url: str, auth_secret: str, ai_key: str, standin: StandIn
) -> dict[str, str]:
    """The environment of a backend that uses the stand-in as its OpenAI provider."""
    return {
        **backend_variables(database_url, auth_secret, ai_key, standin),
        "AI_TIMEOUT_SECONDS": "1",
        "LOG_LEVEL": "info",
        "SHUTDOWN_DRAIN_SECONDS": "0.2",
    }


@pytest.fixture(scope="module")
def start_backend(
    backend_env: dict[str, str],
    issued_tokens: list[str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppFactory]:
    """Return `start_backend(wait_ready=True, **env_overrides)`: a new backend process."""
    yield from serve(
        "backend", tmp_path_factory, env=lambda port: backend_env, never_logged=issued_tokens
    )


@pytest.fixture
def client(backend: AppProcess) -> Iterator[httpx.Client]:  # noqa: F811 (the fixture)
    """An HTTP client of the module's backend."""
    with httpx.Client(base_url=backend.url, timeout=10) as http:
        yield http
