"""All routers of the API."""

from fastapi import APIRouter

from todo_backend.api.routes import chat, health, tasks

api_router = APIRouter()
api_router.include_router(health.router)
api_router.include_router(tasks.router)
api_router.include_router(chat.router)
