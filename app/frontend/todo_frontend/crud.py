"""Reads and writes of the `auth_users` and `auth_sessions` tables."""

from datetime import datetime, timedelta

from psycopg import AsyncConnection, errors

from todo_frontend.models import User


async def create_user(conn: AsyncConnection, *, email: str, password_hash: str) -> User | None:
    """Insert a user; return `None` when the email is taken."""
    try:
        cursor = await conn.execute(
            "INSERT INTO auth_users (email, password_hash) VALUES (%s, %s) RETURNING id::text",
            (email, password_hash),
        )
    except errors.UniqueViolation:
        return None
    row = await cursor.fetchone()
    assert row is not None
    return User(id=row[0], email=email)


async def get_user_with_hash(conn: AsyncConnection, *, email: str) -> tuple[User, str] | None:
    """Return the user with `email` and their password hash, or `None`."""
    cursor = await conn.execute(
        "SELECT id::text, email, password_hash FROM auth_users WHERE email = %s", (email,)
    )
    row = await cursor.fetchone()
    return None if row is None else (User(id=row[0], email=row[1]), row[2])


async def update_password_hash(conn: AsyncConnection, *, user_id: str, password_hash: str) -> None:
    """Replace a user's password hash (after the hash parameters changed)."""
    await conn.execute(
        "UPDATE auth_users SET password_hash = %s WHERE id = %s", (password_hash, user_id)
    )


async def create_session(
    conn: AsyncConnection, *, user_id: str, token_digest: bytes, expires_at: datetime
) -> None:
    """Store a new session, and drop the user's expired ones."""
    await conn.execute(
        "DELETE FROM auth_sessions WHERE user_id = %s AND expires_at <= now()", (user_id,)
    )
    await conn.execute(
        "INSERT INTO auth_sessions (token_digest, user_id, expires_at) VALUES (%s, %s, %s)",
        (token_digest, user_id, expires_at),
    )


async def get_session_user(
    conn: AsyncConnection, *, token_digest: bytes, idle_timeout: timedelta
) -> User | None:
    """Return the user of a session neither expired nor idle for `idle_timeout`, or `None`.

    A session found is marked as used now, so the idle timeout slides with use.
    """
    cursor = await conn.execute(
        "WITH s AS (UPDATE auth_sessions SET last_seen_at = now()"
        " WHERE token_digest = %s AND expires_at > now() AND last_seen_at > now() - %s"
        " RETURNING user_id)"
        " SELECT u.id::text, u.email FROM s JOIN auth_users u ON u.id = s.user_id",
        (token_digest, idle_timeout),
    )
    row = await cursor.fetchone()
    return None if row is None else User(id=row[0], email=row[1])


async def delete_session(conn: AsyncConnection, *, token_digest: bytes) -> None:
    """Delete a session (sign-out); a missing one is not an error."""
    await conn.execute("DELETE FROM auth_sessions WHERE token_digest = %s", (token_digest,))
