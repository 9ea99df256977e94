"""The page's JSON API: tasks and chat, forwarded to the backend as the signed-in user.

The browser never talks to the backend: these routes check the session and the origin,
validate the body, then call the backend with a short-lived JWT. Backend answers (2xx and
4xx) are passed on as they are; a backend that is down, slow or failing becomes a 503/504
with a message for the user, and the next call tries again. The chat's own AI failures
(502, 504) keep the backend's message, which says what went wrong with the assistant.
"""

from collections.abc import Awaitable
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response
from todo_common.web import json_error

from todo_frontend.api.deps import CurrentUser, ServicesDep, require_same_origin
from todo_frontend.backend_client import BackendResponse, BackendUnavailable
from todo_frontend.models import ChatMessage, TaskCreate, TaskUpdate

router = APIRouter(prefix="/app/api", tags=["api"], dependencies=[Depends(require_same_origin)])

# Ids are opaque to the frontend; the pattern keeps them from reshaping the backend path.
# The backend's answers when the AI provider fails or times out; their messages are the
# user's (see docs/contract.md), unlike a database outage's.
AI_ERRORS = frozenset({502, 504})

TaskId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


async def _relay(call: Awaitable[BackendResponse]) -> Response:
    """The backend's answer to `call`, as it is; the user's message when the call failed."""
    try:
        answer = await call
    except BackendUnavailable as error:
        return json_error(error.status_code, str(error))
    headers = {"Retry-After": answer.retry_after} if answer.retry_after else None
    if answer.body is None:
        return Response(status_code=answer.status_code, headers=headers)
    return JSONResponse(answer.body, status_code=answer.status_code, headers=headers)


@router.get("/tasks")
async def list_tasks(services: ServicesDep, user: CurrentUser) -> Response:
    """List the user's tasks."""
    return await _relay(services.backend.call("GET", "/api/tasks", user_id=user.id))


@router.post("/tasks")
async def create_task(services: ServicesDep, user: CurrentUser, task: TaskCreate) -> Response:
    """Add a task."""
    body = task.model_dump()
    return await _relay(services.backend.call("POST", "/api/tasks", user_id=user.id, json=body))


@router.patch("/tasks/{task_id}")
async def update_task(
    services: ServicesDep, user: CurrentUser, task_id: TaskId, changes: TaskUpdate
) -> Response:
    """Change a task's title or completion."""
    body = changes.model_dump(exclude_unset=True)
    path = f"/api/tasks/{task_id}"
    return await _relay(services.backend.call("PATCH", path, user_id=user.id, json=body))


@router.delete("/tasks/{task_id}")
async def delete_task(services: ServicesDep, user: CurrentUser, task_id: TaskId) -> Response:
    """Delete a task."""
    path = f"/api/tasks/{task_id}"
    return await _relay(services.backend.call("DELETE", path, user_id=user.id))


@router.post("/chat")
async def chat(services: ServicesDep, user: CurrentUser, message: ChatMessage) -> Response:
    """Send one message to the assistant; its reply may have changed the tasks."""
    body = message.model_dump(mode="json", exclude_none=True)
    # A chat turn waits for the AI provider, possibly several times (tool calls).
    call = services.backend.call(
        "POST",
        "/api/chat",
        user_id=user.id,
        json=body,
        timeout_seconds=services.settings.CHAT_TIMEOUT_SECONDS,
        relayed_errors=AI_ERRORS,
    )
    return await _relay(call)
