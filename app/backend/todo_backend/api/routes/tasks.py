"""`/api/tasks`: the signed-in user's tasks. Another user's task is answered with 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from todo_backend import crud
from todo_backend.api.deps import ConnDep, CurrentUser
from todo_backend.models import TaskCreate, TaskPublic, TasksPublic, TaskUpdate

router = APIRouter(prefix="/api/tasks", tags=["tasks"])

# Ids are PostgreSQL bigints; larger numbers cannot name a task.
TaskId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _not_found(task_id: int) -> HTTPException:
    return HTTPException(status_code=404, detail=f"task {task_id} not found")


@router.get("", response_model=TasksPublic)
async def read_tasks(
    conn: ConnDep, user_id: CurrentUser, completed: Annotated[bool | None, Query()] = None
) -> TasksPublic:
    """List the user's tasks, optionally only completed (true) or pending (false) ones."""
    tasks = await crud.list_tasks(conn=conn, user_id=user_id, completed=completed)
    return TasksPublic(data=tasks, count=len(tasks))


@router.post("", response_model=TaskPublic, status_code=201)
async def create_task(conn: ConnDep, user_id: CurrentUser, task_in: TaskCreate) -> TaskPublic:
    """Create a task."""
    return await crud.create_task(conn=conn, user_id=user_id, task_in=task_in)


@router.get("/{task_id}", response_model=TaskPublic)
async def read_task(conn: ConnDep, user_id: CurrentUser, task_id: TaskId) -> TaskPublic:
    """Get one task."""
    task = await crud.get_task(conn=conn, user_id=user_id, task_id=task_id)
    if task is None:
        raise _not_found(task_id)
    return task


@router.patch("/{task_id}", response_model=TaskPublic)
async def update_task(
    conn: ConnDep, user_id: CurrentUser, task_id: TaskId, task_in: TaskUpdate
) -> TaskPublic:
    """Change the title, description or completion of a task."""
    task = await crud.update_task(conn=conn, user_id=user_id, task_id=task_id, task_in=task_in)
    if task is None:
        raise _not_found(task_id)
    return task


@router.delete("/{task_id}", status_code=204)
async def delete_task(conn: ConnDep, user_id: CurrentUser, task_id: TaskId) -> Response:
    """Delete a task."""
    if not await crud.delete_task(conn=conn, user_id=user_id, task_id=task_id):
        raise _not_found(task_id)
    return Response(status_code=204)
