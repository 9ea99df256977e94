"""All routers of the API."""

from fastapi import APIRouter
from todo_common import health

from todo_backend.api.routes import chat, tasks

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(tasks.router)
api_router.include_router(chat.router)
