"""Fixtures of the frontend tests: the app's processes and clients (support.stack)."""

from support.stack import (  # noqa: F401 (pytest fixtures)
    backend,
    client,
    frontend,
    frontend_env,
    start_backend,
    start_frontend,
    user_client,
)
