"""Database access: every function takes the user id and touches only that user's rows."""

from __future__ import annotations

import uuid
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from todo_backend.models import TaskCreate, TaskPublic, TaskUpdate

_TASK_COLUMNS = "id, title, description, completed, created_at, updated_at"


async def create_task(*, conn: AsyncConnection, user_id: str, task_in: TaskCreate) -> TaskPublic:
    """Insert a task for `user_id` and return it."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"INSERT INTO tasks (user_id, title, description) VALUES (%s, %s, %s)"
        f" RETURNING {_TASK_COLUMNS}",
        [user_id, task_in.title, task_in.description],
    )
    row = await cursor.fetchone()
    assert row is not None
    return TaskPublic(**row)


async def list_tasks(
    *, conn: AsyncConnection, user_id: str, completed: bool | None = None
) -> list[TaskPublic]:
    """Return the tasks of `user_id` (oldest first), optionally only (not) completed ones."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT {_TASK_COLUMNS} FROM tasks WHERE user_id = %s"
        " AND (%s::boolean IS NULL OR completed = %s::boolean) ORDER BY id",
        [user_id, completed, completed],
    )
    return [TaskPublic(**row) for row in await cursor.fetchall()]


async def get_task(*, conn: AsyncConnection, user_id: str, task_id: int) -> TaskPublic | None:
    """Return the task `task_id` of `user_id`, or None (also when another user owns it)."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"SELECT {_TASK_COLUMNS} FROM tasks WHERE user_id = %s AND id = %s", [user_id, task_id]
    )
    row = await cursor.fetchone()
    return TaskPublic(**row) if row else None


async def update_task(
    *, conn: AsyncConnection, user_id: str, task_id: int, task_in: TaskUpdate
) -> TaskPublic | None:
    """Change the given fields of the task; return it, or None when `user_id` has no such task."""
    changes = task_in.model_dump(exclude_unset=True)
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        f"""
        UPDATE tasks SET
            title = CASE WHEN %(set_title)s THEN %(title)s ELSE title END,
            description = CASE WHEN %(set_description)s THEN %(description)s ELSE description END,
            completed = CASE WHEN %(set_completed)s THEN %(completed)s ELSE completed END,
            updated_at = now()
        WHERE user_id = %(user_id)s AND id = %(task_id)s
        RETURNING {_TASK_COLUMNS}
        """,
        {
            "set_title": "title" in changes,
            "title": changes.get("title"),
            "set_description": "description" in changes,
            "description": changes.get("description"),
            "set_completed": "completed" in changes,
            "completed": changes.get("completed"),
            "user_id": user_id,
            "task_id": task_id,
        },
    )
    row = await cursor.fetchone()
    return TaskPublic(**row) if row else None


async def delete_task(*, conn: AsyncConnection, user_id: str, task_id: int) -> bool:
    """Delete the task; return whether `user_id` had it."""
    cursor = await conn.execute(
        "DELETE FROM tasks WHERE user_id = %s AND id = %s", [user_id, task_id]
    )
    return cursor.rowcount == 1


async def create_conversation(
    *, conn: AsyncConnection, user_id: str, turn_seconds: float
) -> uuid.UUID:
    """Start a conversation for `user_id`, claimed by its first turn (see `start_turn`)."""
    cursor = await conn.execute(
        "INSERT INTO conversations (user_id, turn_until)"
        " VALUES (%s, now() + make_interval(secs => %s)) RETURNING id",
        [user_id, turn_seconds],
    )
    row = await cursor.fetchone()
    assert row is not None
    conversation_id: uuid.UUID = row[0]
    return conversation_id


async def conversation_exists(
    *, conn: AsyncConnection, user_id: str, conversation_id: uuid.UUID
) -> bool:
    """Return whether `user_id` owns the conversation."""
    cursor = await conn.execute(
        "SELECT 1 FROM conversations WHERE user_id = %s AND id = %s", [user_id, conversation_id]
    )
    return await cursor.fetchone() is not None


async def start_turn(
    *, conn: AsyncConnection, user_id: str, conversation_id: uuid.UUID, turn_seconds: float
) -> bool:
    """Claim the conversation for one turn of at most `turn_seconds`; False if another has it.

    Also False when `user_id` has no such conversation. The claim is a row update, not a
    lock, so no connection is held while the turn waits for the AI provider.
    """
    cursor = await conn.execute(
        "UPDATE conversations SET turn_until = now() + make_interval(secs => %s)"
        " WHERE user_id = %s AND id = %s AND (turn_until IS NULL OR turn_until < now())",
        [turn_seconds, user_id, conversation_id],
    )
    return cursor.rowcount == 1


async def end_turn(*, conn: AsyncConnection, conversation_id: uuid.UUID) -> None:
    """Release the conversation's claim: the next turn may start."""
    await conn.execute(
        "UPDATE conversations SET turn_until = NULL WHERE id = %s", [conversation_id]
    )


async def list_messages(
    *, conn: AsyncConnection, user_id: str, conversation_id: uuid.UUID, limit: int
) -> list[dict[str, Any]]:
    """Return the last `limit` messages of the conversation, oldest first, in wire format."""
    cursor = conn.cursor(row_factory=dict_row)
    await cursor.execute(
        """
        SELECT role, content, tool_calls, tool_call_id FROM (
            SELECT m.id, m.role, m.content, m.tool_calls, m.tool_call_id
            FROM messages m JOIN conversations c ON c.id = m.conversation_id
            WHERE c.user_id = %s AND c.id = %s
            ORDER BY m.id DESC LIMIT %s
        ) recent ORDER BY id
        """,
        [user_id, conversation_id, limit],
    )
    messages = []
    for row in await cursor.fetchall():
        message: dict[str, Any] = {"role": row["role"], "content": row["content"]}
        if row["tool_calls"] is not None:
            message["tool_calls"] = row["tool_calls"]
        if row["tool_call_id"] is not None:
            message["tool_call_id"] = row["tool_call_id"]
        messages.append(message)
    return messages


async def add_messages(
    *, conn: AsyncConnection, conversation_id: uuid.UUID, messages: list[dict[str, Any]]
) -> None:
    """Append wire-format `messages` to the conversation, in one transaction."""
    async with conn.transaction():
        for message in messages:
            tool_calls = message.get("tool_calls")
            await conn.execute(
                "INSERT INTO messages (conversation_id, role, content, tool_calls, tool_call_id)"
                " VALUES (%s, %s, %s, %s, %s)",
                [
                    conversation_id,
                    message["role"],
                    message.get("content"),
                    Jsonb(tool_calls) if tool_calls is not None else None,
                    message.get("tool_call_id"),
                ],
            )
        await conn.execute(
            "UPDATE conversations SET updated_at = now() WHERE id = %s", [conversation_id]
        )
