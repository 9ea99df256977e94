"""Request and response bodies of the API (pydantic)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

TITLE_MAX_CHARS = 200
DESCRIPTION_MAX_CHARS = 2000
CHAT_MESSAGE_MAX_CHARS = 4000

# Surrounding whitespace is dropped, so "   " is an empty (rejected) title.
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX_CHARS)
]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX_CHARS)]


class _Input(BaseModel):
    # Strict: "true" is not a boolean and 5 is not a title; unknown fields are mistakes.
    model_config = ConfigDict(strict=True, extra="forbid")


class TaskCreate(_Input):
    """Body of `POST /api/tasks`."""

    title: Title
    description: Description = ""


class TaskUpdate(_Input):
    """Body of `PATCH /api/tasks/{id}`: the fields to change (at least one)."""

    title: Title | None = None
    description: Description | None = None
    completed: bool | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("give at least one of title, description, completed")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} must not be null")
        return self


class TaskPublic(BaseModel):
    """A task as the API returns it."""

    id: int
    title: str
    description: str
    completed: bool
    created_at: datetime
    updated_at: datetime


class TasksPublic(BaseModel):
    """A list of tasks (`GET /api/tasks`)."""

    data: list[TaskPublic]
    count: int


class ChatRequest(_Input):
    """Body of `POST /api/chat`; without `conversation_id` a new conversation starts."""

    message: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=CHAT_MESSAGE_MAX_CHARS),
    ]
    conversation_id: uuid.UUID | None = None

    model_config = ConfigDict(strict=False, extra="forbid")


class ToolAction(BaseModel):
    """One tool call the assistant made while answering, with its result."""

    tool: str
    arguments: dict[str, Any]
    result: Any


class ChatResponse(BaseModel):
    """The assistant's answer and what it did."""

    conversation_id: uuid.UUID
    reply: str
    actions: list[ToolAction] = Field(default_factory=list)
