"""Fixtures of the frontend tests: the app's processes and clients (support.stack)."""

import socket
from collections.abc import Iterator

import pytest
from support.app_process import AppProcess
from support.stack import (  # noqa: F401 (pytest fixtures)
    AppFactory,
    backend,
    client,
    frontend_env,
    start_backend,
    start_frontend,
    user_client,
    user_on_own_backend,
)


@pytest.fixture(scope="module")
def frontend(start_frontend: AppFactory) -> AppProcess:  # noqa: F811 (the fixture above)
    """One ready frontend for the module, with room for its tests' many sign-ups.

    Every test user signs up from 127.0.0.1, so the default sign-up budget (a handful per
    client address) would refuse most of them; the tests of that budget start their own
    frontend with the default.
    """
    return start_frontend(SIGNUP_LIMIT_PER_CLIENT="1000")


@pytest.fixture
def unresponsive_backend() -> Iterator[str]:
    """A URL whose server accepts connections but never answers (a hung backend)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        # Never accept(): the kernel completes handshakes into the backlog, requests hang.
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
