"""Schema of the frontend's tables, applied at start-up under the `frontend` namespace."""

from todo_common.migrations import Migration

NAMESPACE = "frontend"

MIGRATIONS = [
    Migration(
        version=1,
        description="users and sessions",
        # Prefixed `auth_` because the backend's tables live in the same database.
        sql="""
        CREATE TABLE auth_users (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            -- Stored lower-cased, so the unique constraint is case-insensitive.
            email text NOT NULL UNIQUE,
            password_hash text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE auth_sessions (
            -- SHA-256 of the cookie's token: the table alone cannot be replayed.
            token_digest bytea PRIMARY KEY,
            user_id uuid NOT NULL REFERENCES auth_users (id) ON DELETE CASCADE,
            created_at timestamptz NOT NULL DEFAULT now(),
            expires_at timestamptz NOT NULL
        );
        CREATE INDEX auth_sessions_user_id ON auth_sessions (user_id);
        """,
    ),
    Migration(
        version=2,
        description="sessions end when idle",
        sql="ALTER TABLE auth_sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();",
    ),
]
