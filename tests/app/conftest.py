"""Fixtures of the reference app's tests (support.fixtures): PostgreSQL, secrets, stand-in."""

from support.fixtures import (  # noqa: F401 (pytest fixtures)
    ai_key,
    auth_secret,
    database_url,
    db,
    fresh_standin,
    issued_tokens,
    make_token,
    postgres,
    standin,
)
