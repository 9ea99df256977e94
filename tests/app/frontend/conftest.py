"""Fixtures of the frontend tests: the app's processes and clients (support.stack)."""

import socket
from collections.abc import Iterator

import pytest
from support.stack import (  # noqa: F401 (pytest fixtures)
    backend,
    client,
    frontend,
    frontend_env,
    start_backend,
    start_frontend,
    user_client,
)


@pytest.fixture
def unresponsive_backend() -> Iterator[str]:
    """A URL whose server accepts connections but never answers (a hung backend)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        # Never accept(): the kernel completes handshakes into the backlog, requests hang.
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
