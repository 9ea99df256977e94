"""The chat assistant: an AI model that manages the user's tasks through tool calls.

One chat turn: load the conversation from the database, send it with the tool definitions
to the provider, run the tool calls it asks for (always scoped to the signed-in user), send
the results back, and repeat until the model answers with text (at most `MAX_ROUNDS`
round trips). Every message is stored, so any replica can continue the conversation.

A turn has one deadline (`turn_timeout_seconds`, below the frontend's wait), after which it
asks the provider nothing more, so no task changes after the user was told it failed. A
conversation runs one turn at a time, on any replica (`crud.start_turn`): two interleaved
turns would store a tool result away from its tool call, which providers refuse for good.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from fastapi import HTTPException
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from todo_backend import crud
from todo_backend.ai_client import AIProviderError, ChatCompletionsClient
from todo_backend.models import (
    ChatResponse,
    Description,
    TaskCreate,
    TaskUpdate,
    Title,
    ToolAction,
)

logger = logging.getLogger(__name__)

MAX_ROUNDS = 5
HISTORY_MESSAGES = 40
# A turn's claim on its conversation outlasts its deadline by the database steps after the
# last provider call; a claim left by a crashed process expires after that.
TURN_CLAIM_MARGIN_SECONDS = 10

SYSTEM_PROMPT = (
    "You are the assistant of a todo list app. You manage the user's tasks only through the"
    " tools: add_task, list_tasks, complete_task, delete_task, update_task. Tasks are"
    " identified by their numeric id; when the user names a task by its title, call"
    " list_tasks first to find its id. After using tools, answer in one or two short"
    " sentences that say what changed. Never invent tasks or ids."
)


TASK_ID_DESCRIPTION = "Id of the task (a positive integer), from list_tasks or add_task."
# What a tool's parameter schema says of each argument. Gemini's OpenAI-compatible API takes
# only a subset of JSON Schema and answers 400 to keywords it does not know (pydantic emits
# `additionalProperties`, `anyOf` with null for optional fields, `default`); OpenAI takes the
# plain form too. Limits that do not fit (lengths, minimum) are in the descriptions and are
# enforced anyway: `run_tool` validates the arguments and tells the model what was wrong.
SCHEMA_KEYWORDS = ("type", "enum", "description")


class _ToolArguments(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddTaskArguments(_ToolArguments):
    """Arguments of `add_task`."""

    title: Title = Field(description="Short title of the task, 1 to 200 characters.")
    description: Description = Field(
        default="", description="Optional details, at most 2000 characters."
    )


class ListTasksArguments(_ToolArguments):
    """Arguments of `list_tasks`."""

    status: Literal["all", "pending", "completed"] = Field(
        default="all",
        description="Which tasks: all (the default), pending (not completed) or completed.",
    )


class TaskIdArguments(_ToolArguments):
    """Arguments of `complete_task` and `delete_task`."""

    task_id: int = Field(ge=1, description=TASK_ID_DESCRIPTION)


class UpdateTaskArguments(_ToolArguments):
    """Arguments of `update_task`."""

    task_id: int = Field(ge=1, description=TASK_ID_DESCRIPTION)
    title: Title | None = Field(default=None, description="New title, 1 to 200 characters.")
    description: Description | None = Field(
        default=None, description="New details, at most 2000 characters."
    )
    completed: bool | None = Field(default=None, description="New completion state.")


ToolFunction = Callable[[AsyncConnection, str, Any], Awaitable[Any]]


async def _add_task(conn: AsyncConnection, user_id: str, args: AddTaskArguments) -> Any:
    task = await crud.create_task(
        conn=conn,
        user_id=user_id,
        task_in=TaskCreate(title=args.title, description=args.description),
    )
    return task.model_dump(mode="json")


async def _list_tasks(conn: AsyncConnection, user_id: str, args: ListTasksArguments) -> Any:
    completed = {"all": None, "pending": False, "completed": True}[args.status]
    tasks = await crud.list_tasks(conn=conn, user_id=user_id, completed=completed)
    return {
        "status": args.status,
        "tasks": [{"id": t.id, "title": t.title, "completed": t.completed} for t in tasks],
    }


async def _complete_task(conn: AsyncConnection, user_id: str, args: TaskIdArguments) -> Any:
    task = await crud.update_task(
        conn=conn, user_id=user_id, task_id=args.task_id, task_in=TaskUpdate(completed=True)
    )
    if task is None:
        return {"error": f"task {args.task_id} not found"}
    return task.model_dump(mode="json")


async def _delete_task(conn: AsyncConnection, user_id: str, args: TaskIdArguments) -> Any:
    if not await crud.delete_task(conn=conn, user_id=user_id, task_id=args.task_id):
        return {"error": f"task {args.task_id} not found"}
    return {"deleted": args.task_id}


async def _update_task(conn: AsyncConnection, user_id: str, args: UpdateTaskArguments) -> Any:
    changes = args.model_dump(exclude={"task_id"}, exclude_none=True)
    if not changes:
        return {"error": "nothing to change: give title, description or completed"}
    task = await crud.update_task(
        conn=conn, user_id=user_id, task_id=args.task_id, task_in=TaskUpdate(**changes)
    )
    if task is None:
        return {"error": f"task {args.task_id} not found"}
    return task.model_dump(mode="json")


_TOOLS: dict[str, tuple[str, type[_ToolArguments], ToolFunction]] = {
    "add_task": ("Add a task to the user's list.", AddTaskArguments, _add_task),
    "list_tasks": ("List the user's tasks with their ids.", ListTasksArguments, _list_tasks),
    "complete_task": ("Mark a task as completed.", TaskIdArguments, _complete_task),
    "delete_task": ("Delete a task.", TaskIdArguments, _delete_task),
    "update_task": (
        "Change the title, description or completion of a task.",
        UpdateTaskArguments,
        _update_task,
    ),
}


def tool_definitions() -> list[dict[str, Any]]:
    """Return the tools in the chat-completions `tools` format (plain JSON Schema parameters)."""
    return [
        {
            "type": "function",
            "function": {
                "name": name,
                "description": description,
                "parameters": _plain_parameters(arguments_model),
            },
        }
        for name, (description, arguments_model, _) in _TOOLS.items()
    ]


def _plain_parameters(arguments_model: type[_ToolArguments]) -> dict[str, Any]:
    """Return the object schema of `arguments_model`, each argument in `SCHEMA_KEYWORDS` only."""
    schema = arguments_model.model_json_schema()
    properties = {}
    for name, field_schema in schema["properties"].items():
        # An optional field (`X | None`) is `anyOf: [X, {"type": "null"}]`; leaving the
        # argument out says the same, so the schema keeps X only.
        [kind] = [s for s in field_schema.get("anyOf", [field_schema]) if s["type"] != "null"]
        plain = {key: kind[key] for key in SCHEMA_KEYWORDS if key in kind}
        plain["description"] = field_schema["description"]
        properties[name] = plain
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if schema.get("required"):
        parameters["required"] = schema["required"]
    return parameters


async def run_tool(
    *, conn: AsyncConnection, user_id: str, name: str, raw_arguments: str
) -> tuple[dict[str, Any], Any]:
    """Run one tool call for `user_id`; return the parsed arguments and the result.

    Bad calls (unknown tool, arguments that are not JSON or do not validate) give an
    `{"error": ...}` result for the model to read, not an exception.
    """
    try:
        arguments = json.loads(raw_arguments or "{}")
    except json.JSONDecodeError:
        return {}, {"error": "arguments are not valid JSON"}
    if not isinstance(arguments, dict):
        return {}, {"error": "arguments must be a JSON object"}
    if name not in _TOOLS:
        return arguments, {"error": f"unknown tool {name!r}; use one of {sorted(_TOOLS)}"}
    _, arguments_model, function = _TOOLS[name]
    try:
        parsed = arguments_model.model_validate(arguments)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'arguments'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        return arguments, {"error": f"invalid arguments: {problems}"}
    return arguments, await function(conn, user_id, parsed)


async def chat(
    *,
    pool: AsyncConnectionPool,
    client: ChatCompletionsClient,
    user_id: str,
    message: str,
    conversation_id: uuid.UUID | None,
    turn_timeout_seconds: float,
) -> ChatResponse:
    """Answer `message` in the conversation (a new one when `conversation_id` is None).

    A database connection is taken only for each database step, never held while the
    provider thinks, so slow AI calls cannot exhaust the pool for the task API. 404 for
    another user's or an unknown conversation, 409 while it runs another turn.
    """
    deadline = _Deadline.after(turn_timeout_seconds)
    claim_seconds = turn_timeout_seconds + TURN_CLAIM_MARGIN_SECONDS
    async with pool.connection() as conn:
        if conversation_id is None:
            conversation_id = await crud.create_conversation(
                conn=conn, user_id=user_id, turn_seconds=claim_seconds
            )
        elif not await crud.start_turn(
            conn=conn, user_id=user_id, conversation_id=conversation_id, turn_seconds=claim_seconds
        ):
            if await crud.conversation_exists(
                conn=conn, user_id=user_id, conversation_id=conversation_id
            ):
                raise HTTPException(
                    status_code=409,
                    detail="The assistant is still answering your previous message in this"
                    " conversation; wait for its answer, then send this one again.",
                )
            raise HTTPException(status_code=404, detail="conversation not found")
    turn = _Turn(
        pool=pool,
        client=client,
        user_id=user_id,
        conversation_id=conversation_id,
        deadline=deadline,
    )
    try:
        return await turn.answer(message)
    finally:
        await turn.end()


@dataclass(frozen=True)
class _Deadline:
    """When a turn must be over, and the timeout it was set from (which the user is told)."""

    seconds: float
    at: float
    """`time.monotonic()` then."""

    @classmethod
    def after(cls, seconds: float) -> _Deadline:
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def missed(self, *, changed_tasks: bool) -> AIProviderError:
        """The error that ends a turn past its deadline."""
        message = f"The AI assistant did not finish within {self.seconds:g} seconds"
        if changed_tasks:
            message += "; it had already changed some tasks, so check the list before trying again."
        else:
            message += "; please try again."
        return AIProviderError(504, message)


@dataclass(frozen=True, kw_only=True)
class _Turn:
    """One turn of a conversation that `chat` claimed for it (`crud.start_turn`)."""

    pool: AsyncConnectionPool
    client: ChatCompletionsClient
    user_id: str
    conversation_id: uuid.UUID
    deadline: _Deadline

    async def answer(self, message: str) -> ChatResponse:
        """Store `message`, then ask the provider and run its tool calls until it answers."""
        async with self.pool.connection() as conn:
            history = _from_user_turn(
                await crud.list_messages(
                    conn=conn,
                    user_id=self.user_id,
                    conversation_id=self.conversation_id,
                    limit=HISTORY_MESSAGES,
                )
            )
            user_message = {"role": "user", "content": message}
            await self.store(conn, [user_message])
        history.append(user_message)
        actions: list[ToolAction] = []
        tools = tool_definitions()
        for _ in range(MAX_ROUNDS):
            remaining = self.deadline.remaining()
            if remaining <= 0:
                raise self.deadline.missed(changed_tasks=bool(actions))
            try:
                answer = await self.client.complete(
                    [{"role": "system", "content": SYSTEM_PROMPT}, *history],
                    tools,
                    timeout_seconds=remaining,
                )
            except AIProviderError as exc:
                if exc.status_code == 504 and remaining < self.client.timeout_seconds:
                    raise self.deadline.missed(changed_tasks=bool(actions)) from None
                raise
            if not answer["tool_calls"]:
                return await self.finish(reply=answer["content"] or "", actions=actions)
            round_messages = [answer]
            async with self.pool.connection() as conn:
                for call in answer["tool_calls"]:
                    name = call["function"]["name"]
                    arguments, result = await run_tool(
                        conn=conn,
                        user_id=self.user_id,
                        name=name,
                        raw_arguments=call["function"].get("arguments", ""),
                    )
                    logger.info(
                        "tool call", extra={"tool": name, "ok": "error" not in _as_dict(result)}
                    )
                    actions.append(ToolAction(tool=name, arguments=arguments, result=result))
                    round_messages.append(
                        {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)}
                    )
                await self.store(conn, round_messages)
            history.extend(round_messages)
        return await self.finish(
            reply="Sorry, I could not finish that request. Please try again with a simpler one.",
            actions=actions,
        )

    async def store(self, conn: AsyncConnection, messages: list[dict[str, Any]]) -> None:
        await crud.add_messages(conn=conn, conversation_id=self.conversation_id, messages=messages)

    async def finish(self, *, reply: str, actions: list[ToolAction]) -> ChatResponse:
        """Store the assistant's `reply` and return it with the tool calls it made."""
        async with self.pool.connection() as conn:
            await self.store(conn, [{"role": "assistant", "content": reply}])
        return ChatResponse(conversation_id=self.conversation_id, reply=reply, actions=actions)

    async def end(self) -> None:
        """Release the conversation for its next turn."""
        try:
            async with self.pool.connection() as conn:
                await crud.end_turn(conn=conn, conversation_id=self.conversation_id)
        except (psycopg.Error, PoolTimeout) as exc:
            # The claim expires by itself; the turn's own answer matters more than this error.
            logger.warning(
                "could not release the conversation", extra={"error": type(exc).__name__}
            )


def _from_user_turn(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop leading messages until a user message: a cut history must not start mid-turn."""
    for index, message in enumerate(messages):
        if message["role"] == "user":
            return messages[index:]
    return []


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
