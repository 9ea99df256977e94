"""The backend's tables, as migrations applied at start-up (`todo_common.startup`)."""

from __future__ import annotations

from todo_common.migrations import Migration

from todo_backend.models import DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS

MIGRATION_NAMESPACE = "backend"

MIGRATIONS = [
    Migration(
        version=1,
        description="tasks",
        # The API's limits (models.py); changing one later takes a new migration for the
        # databases that already ran this one.
        sql=f"""
        CREATE TABLE tasks (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            user_id text NOT NULL,
            title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND {TITLE_MAX_CHARS}),
            description text NOT NULL DEFAULT ''
                CHECK (char_length(description) <= {DESCRIPTION_MAX_CHARS}),
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
    Migration(
        version=3,
        description="one chat turn at a time per conversation",
        # Set while a turn runs (until its deadline), so that a second request on the same
        # conversation cannot interleave its messages; a crashed turn's claim expires.
        sql="ALTER TABLE conversations ADD COLUMN turn_until timestamptz;",
    ),
]
