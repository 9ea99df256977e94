"""Records of the frontend's own tables and the bodies of its JSON API."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

EMAIL_MAX = 254
PASSWORD_MIN = 8
# Bounded so one request cannot make argon2 hash megabytes.
PASSWORD_MAX = 128
# The backend's TITLE_MAX_CHARS, which this image cannot import; a test checks they are equal.
TITLE_MAX = 200
MESSAGE_MAX = 2000


@dataclass(frozen=True)
class User:
    """A signed-up user; `id` is the `sub` of the backend JWT."""

    id: str
    email: str


TaskTitle = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)
]


class TaskCreate(BaseModel):
    """Body of `POST /app/api/tasks`."""

    model_config = ConfigDict(extra="forbid")

    title: TaskTitle


class TaskUpdate(BaseModel):
    """Body of `PATCH /app/api/tasks/{id}`: only the fields to change."""

    model_config = ConfigDict(extra="forbid")

    title: TaskTitle | None = None
    completed: bool | None = None


class ChatMessage(BaseModel):
    """Body of `POST /app/api/chat`."""

    model_config = ConfigDict(extra="forbid")

    message: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MESSAGE_MAX)
    ]
    conversation_id: uuid.UUID | None = None
