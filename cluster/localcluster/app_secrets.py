"""The app's generated credentials, made at the first `up` and kept in $STATE/secrets (0600).

They are read by the host services and handed to Helm through files, never printed or put on a
command line (where `ps` would show them).
"""

from __future__ import annotations

import secrets

from .settings import Paths

# The database owner's (host-side tools and tests only), then each app's own role's.
DATABASE_PASSWORD = "database-password"
BACKEND_DATABASE_PASSWORD = "backend-database-password"
FRONTEND_DATABASE_PASSWORD = "frontend-database-password"
BETTER_AUTH_SECRET = "better-auth-secret"
AI_API_KEY = "ai-api-key"
# Opens the AI stand-in's debug routes: only the tests on this host read it.
AI_STANDIN_DEBUG_TOKEN = "ai-standin-debug-token"
NAMES = (
    DATABASE_PASSWORD,
    BACKEND_DATABASE_PASSWORD,
    FRONTEND_DATABASE_PASSWORD,
    BETTER_AUTH_SECRET,
    AI_API_KEY,
    AI_STANDIN_DEBUG_TOKEN,
)


def ensure(paths: Paths) -> None:
    """Generate every missing secret (URL-safe, 43 characters, so no quoting is ever needed)."""
    paths.secrets.mkdir(parents=True, exist_ok=True)
    paths.secrets.chmod(0o700)
    for name in NAMES:
        path = paths.secrets / name
        if not path.exists():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(32))


def read(paths: Paths, name: str) -> str:
    """The value of one generated secret."""
    return (paths.secrets / name).read_text()
