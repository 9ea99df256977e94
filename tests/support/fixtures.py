"""Base fixtures of the app and browser tests: PostgreSQL, secrets, tokens, the AI stand-in.

Everything secret is generated at run time and kept a `Secret`, so that a failing test
cannot print it. Each test module gets a fresh database (`database_url`, and `db`, a
superuser-free connection to it) on one TLS-only server per session (`postgres`), which
tests may stop and start to simulate an outage.

A conftest.py uses them by importing them:

    from support.fixtures import postgres, database_url, ...  # noqa: F401 (pytest fixtures)
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import psycopg
import pytest

from support.app_process import AppProcess
from support.postgres import PostgresServer
from support.secret import Secret
from support.standin import StandIn

TokenFactory = Callable[..., str]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server (TLS, scram-sha-256) for the whole session."""
    with PostgresServer.started() as server:
        yield server


@pytest.fixture(scope="module")
def database_url(postgres: PostgresServer) -> Secret:
    """A fresh database per test module, owned by an unprivileged role (TLS, channel binding)."""
    return postgres.create_database()


@pytest.fixture(scope="session")
def auth_secret() -> Secret:
    """BETTER_AUTH_SECRET shared by the apps under test."""
    return Secret(secrets.token_urlsafe(48))


@pytest.fixture(scope="session")
def ai_key() -> Secret:
    """The only API key the AI stand-in accepts."""
    return Secret("sk-test-" + secrets.token_urlsafe(32))


@pytest.fixture(scope="session")
def standin(ai_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    """The AI provider stand-in on a free port; `[[slow]]` waits `StandIn.SLOW_SECONDS`."""
    debug_token = Secret("debug-" + secrets.token_urlsafe(32))
    process = AppProcess(
        "ai_standin",
        env={"AI_STANDIN_KEY": ai_key, "AI_STANDIN_DEBUG_TOKEN": debug_token},
        log_dir=tmp_path_factory.mktemp("standin"),
        args=[
            "--port",
            "{port}",
            "--expected-key-env",
            "AI_STANDIN_KEY",
            "--debug-token-env",
            "AI_STANDIN_DEBUG_TOKEN",
            "--test-mode",
            "--slow-seconds",
            str(StandIn.SLOW_SECONDS),
        ],
        ready_path="/_standin/health",
    )
    process.start()
    try:
        yield StandIn(process, debug_token=debug_token)
    finally:
        process.stop()
    assert ai_key not in process.output()
    assert debug_token not in process.output()


@pytest.fixture(scope="module")
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit connection to the module's database, for set-up and assertions."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def issued_tokens() -> list[str]:
    """Every token `make_token` issued, so that log checks can look for them."""
    return []


@pytest.fixture(scope="session")
def make_token(auth_secret: str, issued_tokens: list[str]) -> TokenFactory:
    """Return `make_token(sub, *, expires_in=600, secret=None, **claims)`: an HS256 JWT.

    Tokens are `Secret`s; put them in headers with `bearer(token)` so that they stay hidden.
    """

    def make(
        sub: str | None = "user-a",
        *,
        expires_in: int | None = 600,
        secret: str | None = None,
        algorithm: str = "HS256",
        **claims: Any,
    ) -> str:
        payload: dict[str, Any] = dict(claims)
        if sub is not None:
            payload["sub"] = sub
        if expires_in is not None:
            payload["exp"] = int(time.time()) + expires_in
        key = None if algorithm == "none" else secret or auth_secret
        token = Secret(jwt.encode(payload, key, algorithm=algorithm))
        issued_tokens.append(token)
        return token

    return make


@pytest.fixture
def fresh_standin(standin: StandIn) -> StandIn:
    """The stand-in with no recorded requests and no fault injected."""
    standin.reset()
    return standin
