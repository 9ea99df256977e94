"""The backend's tables (as migrations) and the start-up work on the database."""

from __future__ import annotations

import asyncio
import logging

import psycopg

from todo_common.migrations import Migration, apply_migrations
from todo_common.readiness import Readiness

logger = logging.getLogger(__name__)

MIGRATION_NAMESPACE = "backend"

MIGRATIONS = [
    Migration(
        version=1,
        description="tasks",
        sql="""
        CREATE TABLE tasks (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id text NOT NULL,
            title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
            description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
            completed boolean NOT NULL DEFAULT false,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX tasks_user_id_idx ON tasks (user_id, id);
        """,
    ),
    Migration(
        version=2,
        description="chat conversations and messages",
        sql="""
        CREATE TABLE conversations (
            id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
            user_id text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            updated_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX conversations_user_id_idx ON conversations (user_id);
        CREATE TABLE messages (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
            role text NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
            content text,
            tool_calls jsonb,
            tool_call_id text,
            created_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX messages_conversation_id_idx ON messages (conversation_id, id);
        """,
    ),
]

_RETRY_FIRST_SECONDS = 0.5
_RETRY_MAX_SECONDS = 5.0


async def prepare_database(database_url: str, *, readiness: Readiness) -> None:
    """Apply the migrations, retrying until the database answers; then mark `readiness`.

    The process stays up (live, not ready) while the database is unreachable, so a pod
    that starts before its database does recovers by itself.
    """
    delay = _RETRY_FIRST_SECONDS
    while True:
        try:
            applied = await apply_migrations(
                database_url, namespace=MIGRATION_NAMESPACE, migrations=MIGRATIONS
            )
        except (psycopg.Error, OSError) as exc:
            logger.warning(
                "database not ready for migrations, retrying",
                extra={"error": type(exc).__name__, "detail": str(exc), "retry_in_s": delay},
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, _RETRY_MAX_SECONDS)
            continue
        logger.info("database schema is up to date", extra={"applied_versions": applied})
        readiness.mark_started()
        return
